import type { Metadata } from 'next';
import { AdminPage } from '@/components/admin/admin-page';
import { Hypervisors } from '@/components/admin/hypervisors';
import { HydrateClient, prefetch, serverTRPC, signedInAsAdmin } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Hypervisors' };

export default async function Page() {
  const trpc = await serverTRPC();
  if (await signedInAsAdmin()) await prefetch(trpc.hypervisors.list.queryOptions());
  return (
    <AdminPage title="Hypervisors" intro="Compute hosts, their hypervisor and what the scheduler has placed on them.">
      <HydrateClient>
        <Hypervisors />
      </HydrateClient>
    </AdminPage>
  );
}
