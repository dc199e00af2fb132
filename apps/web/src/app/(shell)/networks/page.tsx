import type { Metadata } from 'next';
import { NetworksView } from '@/components/resources/networks/networks-view';
import ui from '@/components/ui/ui.module.css';
import { HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Networks' };

export default async function NetworksPage() {
  const trpc = await serverTRPC();
  await prefetch(trpc.networks.list.queryOptions());
  return (
    <main className={ui.content}>
      <h1>Networks</h1>
      <HydrateClient>
        <NetworksView />
      </HydrateClient>
    </main>
  );
}
