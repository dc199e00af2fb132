'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { Field } from '@/components/ui/form';
import { QueryState } from '@/components/ui/query-state';
import { ActionsCell, Table } from '@/components/ui/table';
import ui from '@/components/ui/ui.module.css';
import styles from './admin.module.css';
import { formatDate } from '@/lib/format';
import type { Project } from './types';

function CreateProjectForm({ onCreated }: { onCreated: () => unknown }) {
  const trpc = useTRPC();
  const toast = useToast();
  const nameId = useId();
  const descriptionId = useId();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const create = useMutation(
    trpc.projects.create.mutationOptions({
      onSuccess: (p) => {
        toast.show('success', `Created project ${p.name}`);
        setName('');
        setDescription('');
      },
      onError: (e) => toast.show('error', `Could not create the project: ${describeApiError(e)}`),
      onSettled: onCreated,
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ name: name.trim(), description });
  };
  return (
    <form className={styles.inlineForm} onSubmit={submit} aria-label="Create a project">
      <Field id={nameId} label="Project name">
        <input id={nameId} value={name} required maxLength={64} onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field id={descriptionId} label="Description">
        <input id={descriptionId} value={description} maxLength={255} onChange={(e) => setDescription(e.target.value)} />
      </Field>
      <button type="submit" disabled={create.isPending || !name.trim()} aria-busy={create.isPending}>
        Create project
      </button>
    </form>
  );
}

export function Projects() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const { data, isPending, error } = useQuery(trpc.projects.list.queryOptions());
  const [deleting, setDeleting] = useState<Project | null>(null);
  // Users' role lists name projects too.
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.projects.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.users.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.roleAssignments.pathKey() }),
    ]);
  const remove = useMutation(
    trpc.projects.delete.mutationOptions({
      onSuccess: () => {
        toast.show('success', `Deleted project ${deleting?.name ?? ''}`);
        setDeleting(null);
      },
      onError: (e) => toast.show('error', `Could not delete project ${deleting?.name ?? ''}: ${describeApiError(e)}`),
      onSettled: refresh,
    }),
  );

  return (
    <>
      <CreateProjectForm onCreated={refresh} />
      <QueryState what="projects" isPending={isPending} error={error} />
      {data ? (
        <Table label="Projects" className={styles.table} columns={['Name', 'Description', 'Created', 'Actions']}>
          {data.map((p) => (
            <tr key={p.id}>
              <td>
                {p.name}
                {p.isAdmin ? <span className={ui.muted}> (cloud administrators)</span> : null}
              </td>
              <td>{p.description || <span className={ui.muted}>—</span>}</td>
              <td>{formatDate(p.createdAt)}</td>
              <ActionsCell>
                <button
                  type="button"
                  className={ui.secondary}
                  aria-label={`Delete project ${p.name}`}
                  disabled={p.isAdmin}
                  title={p.isAdmin ? 'The admin project cannot be deleted' : undefined}
                  onClick={() => setDeleting(p)}
                >
                  Delete
                </button>
              </ActionsCell>
            </tr>
          ))}
        </Table>
      ) : null}
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete project ${deleting?.name ?? ''}`}
        confirmLabel="Delete project"
        pending={remove.isPending}
        onConfirm={() => deleting && remove.mutate({ id: deleting.id })}
        onClose={() => setDeleting(null)}
      >
        <p>Its images, networks, quotas, credentials and role assignments are deleted with it. A project that has had instances cannot be deleted.</p>
      </ConfirmDialog>
    </>
  );
}
