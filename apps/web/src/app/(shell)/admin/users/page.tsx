import type { Metadata } from 'next';
import { AdminPage } from '@/components/admin/admin-page';
import { Users } from '@/components/admin/users';
import { HydrateClient, prefetch, serverTRPC, signedInAsAdmin } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Users' };

export default async function Page() {
  const trpc = await serverTRPC();
  if (await signedInAsAdmin()) await Promise.all([prefetch(trpc.users.list.queryOptions()), prefetch(trpc.projects.list.queryOptions())]);
  return (
    <AdminPage title="Users" intro="Users, their roles on projects, and their passwords.">
      <HydrateClient>
        <Users />
      </HydrateClient>
    </AdminPage>
  );
}
