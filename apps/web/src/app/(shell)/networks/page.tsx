import type { Metadata } from 'next';
import { NetworksView } from '@/components/resources/networks/networks-view';

export const metadata: Metadata = { title: 'Networks · Aster' };

export default function NetworksPage() {
  return (
    <main className="content">
      <h1>Networks</h1>
      <NetworksView />
    </main>
  );
}
