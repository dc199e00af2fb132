import { headers } from 'next/headers';
import type { ReactNode } from 'react';
import { AppHeader } from '@/components/shell/app-header';
import { Nav } from '@/components/shell/nav';
import { ToastProvider } from '@/components/toast';
import { requireSession } from '@/lib/session';
import { PATH_HEADER } from '@/lib/session-cookie';
import { ApiProvider } from '@/lib/trpc';
import { WhoamiProvider } from '@/lib/whoami';

/** Every signed-in page: the header, the sections, and the API and toasts for client components. */
export default async function ShellLayout({ children }: { children: ReactNode }) {
  const path = (await headers()).get(PATH_HEADER) ?? '/';
  const session = await requireSession(path);
  if (session.status === 'unavailable') {
    return (
      <>
        <AppHeader />
        <main className="content">
          <h1>Aster</h1>
          <p role="alert" className="alert">
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
          <AppHeader signedIn={{ user: user.name, project: project.name, roles, projects }} />
          <div className="shell">
            <Nav isAdmin={isAdmin} />
            <div className="shell-main">{children}</div>
          </div>
        </ToastProvider>
      </ApiProvider>
    </WhoamiProvider>
  );
}
