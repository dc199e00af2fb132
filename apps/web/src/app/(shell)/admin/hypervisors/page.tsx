import type { Metadata } from 'next';
import { AdminPage } from '@/components/admin/admin-page';
import { Hypervisors } from '@/components/admin/hypervisors';

export const metadata: Metadata = { title: 'Hypervisors' };

export default function Page() {
  return (
    <AdminPage title="Hypervisors" intro="Compute hosts, their hypervisor and what the scheduler has placed on them.">
      <Hypervisors />
    </AdminPage>
  );
}
