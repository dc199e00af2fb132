'use client';

import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import styles from './admin.module.css';
import { CreateUserForm } from './create-user-form';
import { QueryState } from './query-state';
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
      <QueryState label="projects" isPending={false} error={projects.error} />
      <QueryState label="users" isPending={users.isPending} error={users.error} />
      {users.data ? (
        <div className={styles.tableWrap}>
          <table className={styles.table} aria-label="Users">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Roles</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <UserRow key={u.id} user={u} self={u.id === whoami.user.id} projects={projectList} onChanged={refresh} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
