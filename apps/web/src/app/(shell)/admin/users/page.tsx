import type { Metadata } from 'next';
import { AdminPage } from '@/components/admin/admin-page';
import { Users } from '@/components/admin/users';

export const metadata: Metadata = { title: 'Users' };

export default function Page() {
  return (
    <AdminPage title="Users" intro="Users, their roles on projects, and their passwords.">
      <Users />
    </AdminPage>
  );
}
