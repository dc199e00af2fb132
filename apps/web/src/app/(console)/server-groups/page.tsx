import type { Metadata } from 'next';
import { ServerGroupsView } from '@/components/server-groups/server-groups-view';
import ui from '@/components/ui/ui.module.css';

export const metadata: Metadata = { title: 'Server groups · Aster' };

export default function ServerGroupsPage() {
  return (
    <main className={ui.content}>
      <h1>Server groups</h1>
      <ServerGroupsView />
    </main>
  );
}
