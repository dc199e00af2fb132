import type { Metadata } from 'next';
import { TopologyView } from '@/components/networking/topology-view';
import styles from '@/components/networking/networking.module.css';
import ui from '@/components/ui/ui.module.css';
import { HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Network topology' };

export default async function NetworkTopologyPage() {
  const trpc = await serverTRPC();
  await prefetch(trpc.networks.topology.queryOptions());
  return (
    <main className={`${ui.content} ${styles.page}`}>
      <h1>Network topology</h1>
      <HydrateClient>
        <TopologyView />
      </HydrateClient>
    </main>
  );
}
