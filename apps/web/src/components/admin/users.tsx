'use client';

import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { QueryState } from '@/components/ui/query-state';
import { Table } from '@/components/ui/table';
import styles from './admin.module.css';
import { CreateUserForm } from './create-user-form';
import { UserRow } from './user-row';

export function Users() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const whoami = useWhoami();
  const users = useQuery(trpc.users.list.queryOptions());
  const projects = useQuery(trpc.projects.list.queryOptions());
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.users.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.roleAssignments.pathKey() }),
    ]);
  const projectList = projects.data ?? [];

  return (
    <>
      <CreateUserForm projects={projectList} onCreated={refresh} />
      <QueryState what="projects" isPending={false} error={projects.error} />
      <QueryState what="users" isPending={users.isPending} error={users.error} />
      {users.data ? (
        <Table label="Users" className={styles.table} columns={['Name', 'Status', 'Roles', 'Created', 'Actions']}>
          {users.data.map((u) => (
            <UserRow key={u.id} user={u} self={u.id === whoami.user.id} projects={projectList} onChanged={refresh} />
          ))}
        </Table>
      ) : null}
    </>
  );
}
