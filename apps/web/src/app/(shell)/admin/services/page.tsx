import type { Metadata } from 'next';
import { AdminPage } from '@/components/admin/admin-page';
import { Services } from '@/components/admin/services';
import { HydrateClient, prefetch, serverTRPC, signedInAsAdmin } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Services' };

export default async function Page() {
  const trpc = await serverTRPC();
  if (await signedInAsAdmin()) await prefetch(trpc.services.list.queryOptions());
  return (
    <AdminPage title="Services" intro="Every role of every Aster process. A disabled compute service takes its host out of scheduling.">
      <HydrateClient>
        <Services />
      </HydrateClient>
    </AdminPage>
  );
}
