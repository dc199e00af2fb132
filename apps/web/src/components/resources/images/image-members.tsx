'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { QueryState } from '@/components/ui/query-state';
import ui from '@/components/ui/ui.module.css';
import { errorText } from '../format';
import styles from '../resources.module.css';
import type { Image } from '../types';

/** The projects a shared image is shared with: its owner adds them by project name or id, and removes them. */
export function ImageMembers({ image, blocked }: { image: Image; blocked: string | null }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [project, setProject] = useState('');
  const inputId = useId();
  const listId = useId();
  const members = useQuery(trpc.images.listMembers.queryOptions({ id: image.id }));
  const projects = useQuery(trpc.projects.list.queryOptions());
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.images.listMembers.queryKey({ id: image.id }) });
  const add = useMutation(
    trpc.images.addMember.mutationOptions({
      onSuccess: (member) => {
        toast.show('success', `Project ${member.project.name} now shares image ${image.name}`);
        setProject('');
      },
      onError: (error) => toast.show('error', `Could not share image ${image.name}: ${error.message}`),
      onSettled: refresh,
    }),
  );
  const remove = useMutation(
    trpc.images.removeMember.mutationOptions({
      onSuccess: (member) => toast.show('success', `Project ${member.project.name} no longer shares image ${image.name}`),
      onError: (error) => toast.show('error', `Could not remove a member of image ${image.name}: ${error.message}`),
      onSettled: refresh,
    }),
  );
  const busy = add.isPending || remove.isPending;
  const typed = project.trim();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    remove.reset();
    add.mutate({ id: image.id, project: typed });
  };
  const error = add.error ?? remove.error;

  return (
    <section aria-label={`Members of ${image.name}`} className={ui.form}>
      <strong>Projects that share {image.name}</strong>
      <QueryState isPending={members.isPending} error={members.error} what="the members" />
      {members.data ? (
        members.data.length ? (
          <ul className={styles.chips} aria-label={`Member projects of ${image.name}`}>
            {members.data.map(({ project: p }) => (
              <li key={p.id}>
                {p.name}
                <button
                  type="button"
                  className={styles.chipButton}
                  aria-label={`Remove ${p.name} from ${image.name}`}
                  title={blocked ?? `Remove ${p.name} from ${image.name}`}
                  disabled={Boolean(blocked) || busy}
                  onClick={() => {
                    add.reset();
                    remove.mutate({ id: image.id, project: p.id });
                  }}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        ) : (
          <p className={ui.muted}>No member projects yet: only this project sees it.</p>
        )
      ) : null}
      <form className={styles.check} onSubmit={submit}>
        <label htmlFor={inputId}>Member project</label>
        <input
          id={inputId}
          list={listId}
          required
          maxLength={255}
          value={project}
          placeholder="name or id"
          disabled={Boolean(blocked)}
          title={blocked ?? undefined}
          onChange={(e) => setProject(e.target.value)}
        />
        <datalist id={listId}>
          {projects.data
            ?.filter((p) => p.id !== image.owner)
            .map((p) => (
              <option key={p.id} value={p.name} />
            ))}
        </datalist>
        <button type="submit" className={ui.small} disabled={Boolean(blocked) || busy || !typed} title={blocked ?? undefined}>
          Add member
        </button>
      </form>
      {error ? (
        <p role="alert" className={ui.alert}>
          {errorText(error)}
        </p>
      ) : null}
    </section>
  );
}
