'use client';

import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import { Field } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import { NewPasswordInput } from './inputs';
import styles from './admin.module.css';
import type { User } from './types';

/** Sets a user's password; for one's own user the API asks for the current one too. */
export function SetPasswordForm({ user, self }: { user: User; self: boolean }) {
  const trpc = useTRPC();
  const toast = useToast();
  const ids = { current: useId(), password: useId() };
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const setPasswordMutation = useMutation(
    trpc.users.setPassword.mutationOptions({
      onSuccess: () => {
        toast.show('success', `Set the password of ${user.name}; their other sessions were signed out`);
        setCurrent('');
        setPassword('');
      },
      onError: (e) => toast.show('error', `Could not set the password: ${describeApiError(e)}`),
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setPasswordMutation.mutate({ userId: user.id, password, ...(self ? { currentPassword: current } : {}) });
  };
  return (
    <section aria-label={`Password of ${user.name}`}>
      <h3>Password</h3>
      <form className={styles.inlineForm} onSubmit={submit} aria-label={`Set the password of ${user.name}`}>
        {self ? (
          <Field id={ids.current} label="Current password">
            <input id={ids.current} type="password" value={current} required autoComplete="current-password" onChange={(e) => setCurrent(e.target.value)} />
          </Field>
        ) : null}
        <Field id={ids.password} label="New password">
          <NewPasswordInput id={ids.password} value={password} onChange={setPassword} />
        </Field>
        <button
          type="submit"
          className={ui.small}
          disabled={setPasswordMutation.isPending || password.length < 8}
          title={password.length < 8 ? 'A password has at least 8 characters' : undefined}
          aria-busy={setPasswordMutation.isPending}
        >
          Set password
        </button>
      </form>
    </section>
  );
}
