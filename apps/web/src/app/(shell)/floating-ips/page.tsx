import type { Metadata } from 'next';
import { FloatingIpsView } from '@/components/networking/floating-ips-view';
import styles from '@/components/networking/networking.module.css';
import ui from '@/components/ui/ui.module.css';
import { HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Floating IPs' };

export default async function FloatingIpsPage() {
  const trpc = await serverTRPC();
  await Promise.all([prefetch(trpc.floatingIps.list.queryOptions()), prefetch(trpc.networks.list.queryOptions())]);
  return (
    <main className={`${ui.content} ${styles.page}`}>
      <h1>Floating IPs</h1>
      <HydrateClient>
        <FloatingIpsView />
      </HydrateClient>
    </main>
  );
}
