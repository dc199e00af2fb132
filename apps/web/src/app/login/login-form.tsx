'use client';

import { useActionState } from 'react';
import ui from '@/components/ui/ui.module.css';
import { type SignInState, signIn } from './actions';
import styles from './login.module.css';

const initialState: SignInState = { username: '', attempt: 0 };

export function LoginForm({ next }: { next: string }) {
  const [state, formAction, pending] = useActionState(signIn, initialState);

  return (
    <form action={formAction} className={`${ui.card} ${styles.form}`}>
      <input type="hidden" name="next" value={next} />
      {state.error ? (
        <p key={state.attempt} role="alert" className={ui.alert}>
          {state.error}
        </p>
      ) : null}
      <label htmlFor="username">Username</label>
      <input
        id="username"
        name="username"
        autoComplete="username"
        autoCapitalize="none"
        spellCheck={false}
        defaultValue={state.username}
        required
        // eslint-disable-next-line jsx-a11y/no-autofocus -- the sign-in page is this one form: everyone, screen reader or not, starts typing here
        autoFocus
      />
      <label htmlFor="password">Password</label>
      <input id="password" name="password" type="password" autoComplete="current-password" required />
      <button type="submit" disabled={pending} aria-busy={pending}>
        Sign in
      </button>
    </form>
  );
}
