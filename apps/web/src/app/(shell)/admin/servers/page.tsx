import type { Metadata } from 'next';
import { AdminPage } from '@/components/admin/admin-page';
import { AllServers } from '@/components/admin/all-servers';

export const metadata: Metadata = { title: 'All instances' };

export default function Page() {
  return (
    <AdminPage title="All instances" intro="Instances of every project, kept up to date as they change.">
      <AllServers />
    </AdminPage>
  );
}
