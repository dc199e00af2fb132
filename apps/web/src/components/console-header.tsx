import { signOut } from '@/app/actions';
import { SubmitButton } from './submit-button';

export type SignedIn = { user: string; project: string; roles: readonly string[] };

export function ConsoleHeader({ signedIn }: { signedIn?: SignedIn }) {
  return (
    <header className="console-header">
      <span className="brand">Aster</span>
      {signedIn ? (
        <div className="signed-in">
          <p>
            Signed in as {signedIn.user} (project {signedIn.project})
          </p>
          <p className="muted">Roles: {signedIn.roles.length ? signedIn.roles.join(', ') : 'none'}</p>
        </div>
      ) : null}
      <form action={signOut}>
        <SubmitButton className="secondary">Sign out</SubmitButton>
      </form>
    </header>
  );
}
