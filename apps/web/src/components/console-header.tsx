import { signOut } from '@/app/actions';
import ui from '@/components/ui/ui.module.css';
import { ProjectSwitcher } from './shell/project-switcher';
import { ThemeToggle } from './shell/theme';
import { SubmitButton } from './submit-button';
import styles from './shell/shell.module.css';

export type SignedIn = { user: string; project: string; roles: readonly string[]; projects?: readonly { name: string }[] };

export function ConsoleHeader({ signedIn }: { signedIn?: SignedIn }) {
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
