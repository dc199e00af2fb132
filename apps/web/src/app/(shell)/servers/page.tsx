import type { Metadata } from 'next';
import { InstancesView } from '@/components/instances/instances-view';
import { FIRST_PAGE } from '@/components/instances/list-input';
import { HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Instances' };

export default async function ServersPage() {
  const trpc = await serverTRPC();
  await prefetch(trpc.servers.list.queryOptions(FIRST_PAGE));
  return (
    <HydrateClient>
      <InstancesView />
    </HydrateClient>
  );
}
