import { signOut } from '@/app/actions';
import { ProjectSwitcher } from './shell/project-switcher';
import { ThemeToggle } from './shell/theme';
import { SubmitButton } from './submit-button';

export type SignedIn = { user: string; project: string; roles: readonly string[]; projects?: readonly { name: string }[] };

export function ConsoleHeader({ signedIn }: { signedIn?: SignedIn }) {
  return (
    <header className="console-header">
      <span className="brand">Aster</span>
      {signedIn ? <ProjectSwitcher current={signedIn.project} projects={signedIn.projects ?? []} /> : null}
      {signedIn ? (
        <div className="signed-in">
          <p>
            Signed in as {signedIn.user} (project {signedIn.project})
          </p>
          <p className="muted">Roles: {signedIn.roles.length ? signedIn.roles.join(', ') : 'none'}</p>
        </div>
      ) : null}
      <ThemeToggle />
      <form action={signOut}>
        <SubmitButton className="secondary">Sign out</SubmitButton>
      </form>
    </header>
  );
}
