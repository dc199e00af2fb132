import type { Metadata } from 'next';
import { AdminPage } from '@/components/admin/admin-page';
import { Projects } from '@/components/admin/projects';
import { HydrateClient, prefetch, serverTRPC, signedInAsAdmin } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Projects' };

export default async function Page() {
  const trpc = await serverTRPC();
  if (await signedInAsAdmin()) await prefetch(trpc.projects.list.queryOptions());
  return (
    <AdminPage title="Projects" intro="Projects own instances, images and quotas; users hold roles on them.">
      <HydrateClient>
        <Projects />
      </HydrateClient>
    </AdminPage>
  );
}
