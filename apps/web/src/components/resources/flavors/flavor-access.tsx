'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { QueryState } from '@/components/ui/query-state';
import ui from '@/components/ui/ui.module.css';
import styles from '../resources.module.css';
import type { Flavor } from '../types';

/** The projects that may use a private flavor; administrators add and remove them. */
export function FlavorAccess({ flavor }: { flavor: Flavor }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [project, setProject] = useState('');
  const inputId = useId();
  const listId = useId();
  const access = useQuery(trpc.flavors.listAccess.queryOptions({ id: flavor.id }));
  const projects = useQuery(trpc.projects.list.queryOptions());
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.flavors.listAccess.queryKey({ id: flavor.id }) });
  const add = useMutation(
    trpc.flavors.addAccess.mutationOptions({
      onSuccess: () => {
        toast.show('success', `Project ${project} may now use flavor ${flavor.name}`);
        setProject('');
      },
      onError: (error) => toast.show('error', `Could not share flavor ${flavor.name}: ${error.message}`),
      onSettled: refresh,
    }),
  );
  const remove = useMutation(
    trpc.flavors.removeAccess.mutationOptions({
      onSuccess: (_data, input) => toast.show('success', `Project ${input.project} no longer uses flavor ${flavor.name}`),
      onError: (error) => toast.show('error', `Could not remove access to ${flavor.name}: ${error.message}`),
      onSettled: refresh,
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate({ id: flavor.id, project: project.trim() });
  };
  const error = add.error ?? remove.error;

  return (
    <section aria-label={`Access to ${flavor.name}`} className={ui.form}>
      <strong>Projects that may use {flavor.name}</strong>
      <QueryState isPending={access.isPending} error={access.error} what="the access list" />
      {access.data ? (
        access.data.projects.length ? (
          <ul className={styles.chips}>
            {access.data.projects.map((p) => (
              <li key={p.id}>
                {p.name}
                <button
                  type="button"
                  className={styles.chipButton}
                  aria-label={`Remove ${p.name} from ${flavor.name}`}
                  disabled={remove.isPending}
                  onClick={() => remove.mutate({ id: flavor.id, project: p.name })}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        ) : (
          <p className={ui.muted}>No project has access yet: only administrators can use it.</p>
        )
      ) : null}
      <form className={styles.check} onSubmit={submit}>
        <label htmlFor={inputId}>Project</label>
        <input id={inputId} list={listId} required value={project} placeholder="name or id" onChange={(e) => setProject(e.target.value)} />
        <datalist id={listId}>
          {projects.data?.map((p) => (
            <option key={p.id} value={p.name} />
          ))}
        </datalist>
        <button type="submit" className={ui.small} disabled={add.isPending || !project.trim()}>
          Add access
        </button>
      </form>
      {error ? (
        <p role="alert" className={ui.alert}>
          {error.message}
        </p>
      ) : null}
    </section>
  );
}
