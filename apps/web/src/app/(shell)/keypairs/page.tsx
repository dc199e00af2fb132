import type { Metadata } from 'next';
import { KeypairsView } from '@/components/resources/keypairs/keypairs-view';
import ui from '@/components/ui/ui.module.css';
import { HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Key pairs' };

export default async function KeypairsPage() {
  const trpc = await serverTRPC();
  await prefetch(trpc.keypairs.list.queryOptions());
  return (
    <main className={ui.content}>
      <h1>Key pairs</h1>
      <HydrateClient>
        <KeypairsView />
      </HydrateClient>
    </main>
  );
}
