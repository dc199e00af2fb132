import type { Metadata } from 'next';
import { AdminPage } from '@/components/admin/admin-page';
import { AllServers } from '@/components/admin/all-servers';
import { ALL_SERVERS_INPUT } from '@/components/admin/all-servers-input';
import { HydrateClient, prefetch, serverTRPC, signedInAsAdmin } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'All instances' };

export default async function Page() {
  const trpc = await serverTRPC();
  if (await signedInAsAdmin()) await Promise.all([prefetch(trpc.servers.list.queryOptions(ALL_SERVERS_INPUT)), prefetch(trpc.projects.list.queryOptions())]);
  return (
    <AdminPage title="All instances" intro="Instances of every project, kept up to date as they change.">
      <HydrateClient>
        <AllServers />
      </HydrateClient>
    </AdminPage>
  );
}
