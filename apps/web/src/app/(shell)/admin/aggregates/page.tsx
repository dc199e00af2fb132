import type { Metadata } from 'next';
import { AdminPage } from '@/components/admin/admin-page';
import { Aggregates } from '@/components/admin/aggregates';

export const metadata: Metadata = { title: 'Aggregates' };

export default function Page() {
  return (
    <AdminPage title="Aggregates" intro="Groups of compute hosts with metadata; an aggregate with an availability zone puts its hosts in that zone.">
      <Aggregates />
    </AdminPage>
  );
}
