import type { Metadata } from 'next';
import { QuotasView } from '@/components/resources/quotas/quotas-view';
import ui from '@/components/ui/ui.module.css';
import { HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Quotas' };

export default async function QuotasPage() {
  const trpc = await serverTRPC();
  await prefetch(trpc.limits.get.queryOptions());
  return (
    <main className={ui.content}>
      <h1>Quotas</h1>
      <HydrateClient>
        <QuotasView />
      </HydrateClient>
    </main>
  );
}
