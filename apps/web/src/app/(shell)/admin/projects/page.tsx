import type { Metadata } from 'next';
import { AdminPage } from '@/components/admin/admin-page';
import { Projects } from '@/components/admin/projects';

export const metadata: Metadata = { title: 'Projects' };

export default function Page() {
  return (
    <AdminPage title="Projects" intro="Projects own instances, images and quotas; users hold roles on them.">
      <Projects />
    </AdminPage>
  );
}
