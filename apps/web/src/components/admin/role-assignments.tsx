'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { Field } from '@/components/ui/form';
import { QueryState } from '@/components/ui/query-state';
import ui from '@/components/ui/ui.module.css';
import { ProjectOptions, RoleOptions } from './inputs';
import styles from './admin.module.css';
import { type Assignment, type Project, type Role, type User } from './types';

/** One user's roles: each with a Revoke button, and a form to grant another. */
export function RoleAssignments({ user, projects }: { user: User; projects: Project[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const ids = { project: useId(), role: useId() };
  const { data, isPending, error } = useQuery(trpc.roleAssignments.list.queryOptions({ userId: user.id }));
  const [revoking, setRevoking] = useState<Assignment | null>(null);
  const [project, setProject] = useState('');
  const [role, setRole] = useState<Role>('member');
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.roleAssignments.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.users.pathKey() }),
    ]);
  const grant = useMutation(
    trpc.roleAssignments.grant.mutationOptions({
      onSuccess: (a) => toast.show('success', `Granted ${a.role} on ${a.project.name} to ${a.user.name}`),
      onError: (e) => toast.show('error', `Could not grant the role: ${describeApiError(e)}`),
      onSettled: refresh,
    }),
  );
  const revoke = useMutation(
    trpc.roleAssignments.revoke.mutationOptions({
      onSuccess: (_, v) => {
        toast.show('success', `Revoked ${v.role} on ${revoking?.project.name ?? v.project} from ${user.name}`);
        setRevoking(null);
      },
      onError: (e) => toast.show('error', `Could not revoke the role: ${describeApiError(e)}`),
      onSettled: refresh,
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (project) grant.mutate({ userId: user.id, project, role });
  };

  return (
    <section aria-label={`Roles of ${user.name}`}>
      <h3>Roles</h3>
      <QueryState what="role assignments" isPending={isPending} error={error} />
      {data && data.length === 0 ? <p className={ui.muted}>{user.name} holds no role on any project.</p> : null}
      <ul>
        {data?.map((a) => (
          <li key={`${a.project.id}/${a.role}`}>
            {a.role} on {a.project.name}{' '}
            <button
              type="button"
              className={`${ui.secondary} ${ui.small}`}
              aria-label={`Revoke ${a.role} on ${a.project.name} from ${user.name}`}
              onClick={() => setRevoking(a)}
            >
              Revoke
            </button>
          </li>
        ))}
      </ul>
      <form className={styles.inlineForm} onSubmit={submit} aria-label={`Grant a role to ${user.name}`}>
        <Field id={ids.project} label="Project">
          <select id={ids.project} value={project} required onChange={(e) => setProject(e.target.value)}>
            <ProjectOptions projects={projects} none="Pick a project" />
          </select>
        </Field>
        <Field id={ids.role} label="Role">
          <select id={ids.role} value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <RoleOptions />
          </select>
        </Field>
        <button type="submit" className={ui.small} disabled={grant.isPending || !project} aria-busy={grant.isPending}>
          Grant role
        </button>
      </form>
      <ConfirmDialog
        open={revoking !== null}
        title={revoking ? `Revoke ${revoking.role} on ${revoking.project.name} from ${user.name}` : 'Revoke role'}
        confirmLabel="Revoke"
        pending={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate({ userId: user.id, project: revoking.project.id, role: revoking.role })}
        onClose={() => setRevoking(null)}
      >
        <p>It takes effect at once: {user.name}&apos;s tokens for that project lose the role on their next call.</p>
      </ConfirmDialog>
    </section>
  );
}
