import Link from 'next/link';
import type { Metadata } from 'next';
import ui from '@/components/ui/ui.module.css';
import { formatDate } from '@/lib/format';
import { requireSession } from '@/lib/session';
import styles from './overview.module.css';

export const metadata: Metadata = { title: 'Overview' };

export default async function HomePage() {
  const session = await requireSession('/');

  if (session.status === 'unavailable') {
    return (
      <>
        <main className={ui.content}>
          <h1>Overview</h1>
          <p role="alert" className={ui.alert}>
            {session.message}
          </p>
          <p>
            <Link href="/">Try again</Link>
          </p>
        </main>
      </>
    );
  }

  const { user, project, roles, isAdmin, expiresAt, projects } = session.whoami;
  return (
    <>
      <main className={ui.content}>
        <h1>Overview</h1>
        <section aria-labelledby="session-heading">
          <h2 id="session-heading">Your session</h2>
          <dl className={ui.facts}>
            <dt>User</dt>
            <dd>{user.name}</dd>
            <dt>Project</dt>
            <dd>{project.name}</dd>
            <dt>Roles</dt>
            <dd>
              {roles.length ? roles.join(', ') : 'none'}
              {isAdmin ? ' (cloud administrator)' : ''}
            </dd>
            <dt>Session expires</dt>
            <dd>
              <time dateTime={expiresAt}>{formatDate(expiresAt)}</time>
            </dd>
          </dl>
        </section>
        {projects.length > 0 ? (
          <section aria-labelledby="projects-heading">
            <h2 id="projects-heading">Your projects</h2>
            <ul className={styles.projects}>
              {projects.map((p) => (
                <li key={p.id}>
                  {p.name}
                  <span className={ui.muted}> · {p.roles.join(', ') || 'no roles'}</span>
                </li>
              ))}
            </ul>
          </section>
        ) : null}
      </main>
    </>
  );
}
