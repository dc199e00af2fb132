import { signOut } from '@/app/actions';
import { ProjectSwitcher } from './project-switcher';
import { ThemeToggle } from './theme';
import { SubmitButton } from '@/components/submit-button';

export type SignedIn = { user: string; project: string; roles: readonly string[]; projects?: readonly { name: string }[] };

export function AppHeader({ signedIn }: { signedIn?: SignedIn }) {
  return (
    <header className="app-header">
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
