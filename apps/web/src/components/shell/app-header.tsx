import { signOut } from '@/app/actions';
import { SubmitButton } from '@/components/submit-button';
import ui from '@/components/ui/ui.module.css';
import { ProjectSwitcher } from './project-switcher';
import styles from './shell.module.css';
import { ThemeToggle } from './theme';

export type SignedIn = { user: string; project: string; roles: readonly string[]; projects?: readonly { name: string }[] };

export function AppHeader({ signedIn }: { signedIn?: SignedIn }) {
  return (
    <header className={styles.header}>
      <span className={styles.brand}>Aster</span>
      {signedIn ? <ProjectSwitcher current={signedIn.project} projects={signedIn.projects ?? []} /> : null}
      {signedIn ? (
        <div className={styles.signedIn}>
          <p>
            Signed in as {signedIn.user} (project {signedIn.project})
          </p>
          <p className={ui.muted}>Roles: {signedIn.roles.length ? signedIn.roles.join(', ') : 'none'}</p>
        </div>
      ) : null}
      <ThemeToggle />
      <form action={signOut}>
        <SubmitButton className={ui.secondary}>Sign out</SubmitButton>
      </form>
    </header>
  );
}
