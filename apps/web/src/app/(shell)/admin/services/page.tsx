import type { Metadata } from 'next';
import { AdminPage } from '@/components/admin/admin-page';
import { Services } from '@/components/admin/services';

export const metadata: Metadata = { title: 'Services' };

export default function Page() {
  return (
    <AdminPage title="Services" intro="Every role of every Aster process. A disabled compute service takes its host out of scheduling.">
      <Services />
    </AdminPage>
  );
}
