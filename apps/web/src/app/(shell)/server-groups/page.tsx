import type { Metadata } from 'next';
import { ServerGroupsView } from '@/components/server-groups/server-groups-view';

export const metadata: Metadata = { title: 'Server groups · Aster' };

export default function ServerGroupsPage() {
  return (
    <main className="content">
      <h1>Server groups</h1>
      <ServerGroupsView />
    </main>
  );
}
