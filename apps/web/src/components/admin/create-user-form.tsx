'use client';

import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import styles from './admin.module.css';
import { ROLES, type Project, type Role } from './types';

export function CreateUserForm({ projects, onCreated }: { projects: Project[]; onCreated: () => unknown }) {
  const trpc = useTRPC();
  const toast = useToast();
  const ids = { name: useId(), password: useId(), project: useId(), role: useId() };
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [project, setProject] = useState('');
  const [role, setRole] = useState<Role>('member');
  const create = useMutation(
    trpc.users.create.mutationOptions({
      onSuccess: (u) => {
        toast.show('success', `Created user ${u.name}`);
        setName('');
        setPassword('');
      },
      onError: (e) => toast.show('error', `Could not create the user: ${describeApiError(e)}`),
      onSettled: onCreated,
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ name: name.trim(), password, ...(project ? { project, role } : {}) });
  };
  return (
    <form className={styles.inlineForm} onSubmit={submit} aria-label="Create a user">
      <div className={styles.field}>
        <label htmlFor={ids.name}>User name</label>
        <input id={ids.name} value={name} required maxLength={64} autoComplete="off" onChange={(e) => setName(e.target.value)} />
      </div>
      <div className={styles.field}>
        <label htmlFor={ids.password}>Password</label>
        <input
          id={ids.password}
          type="password"
          value={password}
          required
          minLength={8}
          autoComplete="new-password"
          onChange={(e) => setPassword(e.target.value)}
        />
      </div>
      <div className={styles.field}>
        <label htmlFor={ids.project}>Project</label>
        <select id={ids.project} value={project} onChange={(e) => setProject(e.target.value)}>
          <option value="">No project</option>
          {projects.map((p) => (
            <option key={p.id} value={p.name}>
              {p.name}
            </option>
          ))}
        </select>
      </div>
      <div className={styles.field}>
        <label htmlFor={ids.role}>Role</label>
        <select
          id={ids.role}
          value={role}
          disabled={!project}
          title={project ? undefined : 'A role is held on a project: pick one first'}
          onChange={(e) => setRole(e.target.value as Role)}
        >
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </div>
      <button type="submit" disabled={create.isPending || !name.trim() || password.length < 8} aria-busy={create.isPending}>
        Create user
      </button>
    </form>
  );
}
