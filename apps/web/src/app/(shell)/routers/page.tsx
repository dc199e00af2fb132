import type { Metadata } from 'next';
import { RoutersView } from '@/components/networking/routers-view';
import styles from '@/components/networking/networking.module.css';
import ui from '@/components/ui/ui.module.css';
import { HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Routers' };

export default async function RoutersPage() {
  const trpc = await serverTRPC();
  await Promise.all([prefetch(trpc.routers.list.queryOptions()), prefetch(trpc.networks.list.queryOptions())]);
  return (
    <main className={`${ui.content} ${styles.page}`}>
      <h1>Routers</h1>
      <HydrateClient>
        <RoutersView />
      </HydrateClient>
    </main>
  );
}
