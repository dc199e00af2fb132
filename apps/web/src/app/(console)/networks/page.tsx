import type { Metadata } from 'next';
import { NetworksView } from '@/components/resources/networks/networks-view';
import ui from '@/components/ui/ui.module.css';

export const metadata: Metadata = { title: 'Networks · Aster' };

export default function NetworksPage() {
  return (
    <main className={ui.content}>
      <h1>Networks</h1>
      <NetworksView />
    </main>
  );
}
