import { headers } from 'next/headers';
import type { ReactNode } from 'react';
import { ServerActionsProvider } from '@/components/server-actions/tracker';
import { AppHeader } from '@/components/shell/app-header';
import { Nav } from '@/components/shell/nav';
import shell from '@/components/shell/shell.module.css';
import { CONTENT_ID, SkipLink } from '@/components/shell/skip-link';
import { ToastProvider } from '@/components/toast';
import ui from '@/components/ui/ui.module.css';
import { ServerWatchProvider } from '@/lib/server-watch';
import { requireSession } from '@/lib/session';
import { PATH_HEADER } from '@/lib/session-cookie';
import { ApiProvider } from '@/lib/trpc';
import { HydrateClient } from '@/lib/trpc-server';

/**
 * Every signed-in page: the header, the sections, and for client components the API (with who is signed in,
 * read here), the toasts, the servers' watch and the action tracker.
 */
export default async function ShellLayout({ children }: { children: ReactNode }) {
  const path = (await headers()).get(PATH_HEADER) ?? '/';
  const session = await requireSession(path);
  if (session.status === 'unavailable') {
    return (
      <>
        <SkipLink />
        <AppHeader />
        <main id={CONTENT_ID} tabIndex={-1} className={ui.content}>
          <h1>Aster</h1>
          <p role="alert" className={ui.alert}>
            {session.message}
          </p>
          <p>
            <a href={path}>Try again</a>
          </p>
        </main>
      </>
    );
  }
  const { user, project, roles, isAdmin, projects } = session.whoami;
  return (
    // Another project is another session: the browser's cache, the watch and the tracker start afresh with it.
    <ApiProvider key={project.id}>
      <HydrateClient>
        <ToastProvider>
          <ServerWatchProvider>
            <ServerActionsProvider>
              <SkipLink />
              <AppHeader signedIn={{ user: user.name, project: project.name, roles, projects }} />
              <div className={shell.shell}>
                <Nav isAdmin={isAdmin} />
                <div id={CONTENT_ID} tabIndex={-1} className={shell.main}>
                  {children}
                </div>
              </div>
            </ServerActionsProvider>
          </ServerWatchProvider>
        </ToastProvider>
      </HydrateClient>
    </ApiProvider>
  );
}
