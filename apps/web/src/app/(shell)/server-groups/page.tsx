import type { Metadata } from 'next';
import { ServerGroupsView } from '@/components/server-groups/server-groups-view';
import ui from '@/components/ui/ui.module.css';
import { HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Server groups' };

export default async function ServerGroupsPage() {
  const trpc = await serverTRPC();
  await prefetch(trpc.serverGroups.list.queryOptions({}));
  return (
    <main className={ui.content}>
      <h1>Server groups</h1>
      <HydrateClient>
        <ServerGroupsView />
      </HydrateClient>
    </main>
  );
}
