import type { Metadata } from 'next';
import { FlavorsView } from '@/components/resources/flavors/flavors-view';
import ui from '@/components/ui/ui.module.css';
import { HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Flavors' };

export default async function FlavorsPage() {
  const trpc = await serverTRPC();
  await prefetch(trpc.flavors.list.queryOptions({}));
  return (
    <main className={ui.content}>
      <h1>Flavors</h1>
      <HydrateClient>
        <FlavorsView />
      </HydrateClient>
    </main>
  );
}
