import type { Metadata } from 'next';
import { AdminPage } from '@/components/admin/admin-page';
import { Aggregates } from '@/components/admin/aggregates';
import { HydrateClient, prefetch, serverTRPC, signedInAsAdmin } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Aggregates' };

export default async function Page() {
  const trpc = await serverTRPC();
  if (await signedInAsAdmin()) await prefetch(trpc.aggregates.list.queryOptions());
  return (
    <AdminPage title="Aggregates" intro="Groups of compute hosts with metadata; an aggregate with an availability zone puts its hosts in that zone.">
      <HydrateClient>
        <Aggregates />
      </HydrateClient>
    </AdminPage>
  );
}
