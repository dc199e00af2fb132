import { headers } from 'next/headers';
import type { ReactNode } from 'react';
import { ConsoleHeader } from '@/components/console-header';
import { Nav } from '@/components/shell/nav';
import { ToastProvider } from '@/components/toast';
import { requireSession } from '@/lib/session';
import { PATH_HEADER } from '@/lib/session-cookie';
import { ApiProvider } from '@/lib/trpc';
import { WhoamiProvider } from '@/lib/whoami';
import ui from '@/components/ui/ui.module.css';
import { CONTENT_ID, SkipLink } from '@/components/shell/skip-link';
import shell from '@/components/shell/shell.module.css';

/** Every signed-in page: the header, the sections, and the API and toasts for client components. */
export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const path = (await headers()).get(PATH_HEADER) ?? '/';
  const session = await requireSession(path);
  if (session.status === 'unavailable') {
    return (
      <>
        <SkipLink />
        <ConsoleHeader />
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
    <WhoamiProvider whoami={session.whoami}>
      <ApiProvider>
        <ToastProvider>
          <SkipLink />
          <ConsoleHeader signedIn={{ user: user.name, project: project.name, roles, projects }} />
          <div className={shell.shell}>
            <Nav isAdmin={isAdmin} />
            <div id={CONTENT_ID} tabIndex={-1} className={shell.main}>
              {children}
            </div>
          </div>
        </ToastProvider>
      </ApiProvider>
    </WhoamiProvider>
  );
}
