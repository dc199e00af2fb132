import type { Metadata } from 'next';
import { SecurityGroupsView } from '@/components/networking/security-groups-view';
import styles from '@/components/networking/networking.module.css';
import ui from '@/components/ui/ui.module.css';
import { HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Security groups' };

export default async function SecurityGroupsPage() {
  const trpc = await serverTRPC();
  await prefetch(trpc.securityGroups.list.queryOptions());
  return (
    <main className={`${ui.content} ${styles.page}`}>
      <h1>Security groups</h1>
      <HydrateClient>
        <SecurityGroupsView />
      </HydrateClient>
    </main>
  );
}
