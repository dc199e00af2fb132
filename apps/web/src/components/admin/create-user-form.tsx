'use client';

import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import { Field } from '@/components/ui/form';
import { NewPasswordInput, ProjectOptions, RoleOptions } from './inputs';
import styles from './admin.module.css';
import { type Project, type Role } from './types';

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
      <Field id={ids.name} label="User name">
        <input id={ids.name} value={name} required maxLength={64} autoComplete="off" onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field id={ids.password} label="Password">
        <NewPasswordInput id={ids.password} value={password} onChange={setPassword} />
      </Field>
      <Field id={ids.project} label="Project">
        <select id={ids.project} value={project} onChange={(e) => setProject(e.target.value)}>
          <ProjectOptions projects={projects} none="No project" />
        </select>
      </Field>
      <Field id={ids.role} label="Role">
        <select
          id={ids.role}
          value={role}
          disabled={!project}
          title={project ? undefined : 'A role is held on a project: pick one first'}
          onChange={(e) => setRole(e.target.value as Role)}
        >
          <RoleOptions />
        </select>
      </Field>
      <button type="submit" disabled={create.isPending || !name.trim() || password.length < 8} aria-busy={create.isPending}>
        Create user
      </button>
    </form>
  );
}
