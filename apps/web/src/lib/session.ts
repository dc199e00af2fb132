import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@aster/client';
import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { env } from '@/env';
import { describeApiError, isUnauthorized } from './api-error';
import { loginPath } from './next-path';
import { SESSION_COOKIE } from './session-cookie';
import { getQueryClient, serverTRPC } from './trpc-server';
import { log } from '@/lib/log';

export { apiClient, sessionToken, type AsterClient } from './api-client';
export type Whoami = inferRouterOutputs<AppRouter>['auth']['whoami'];

/** Only in a Server Action or Route Handler: cookies can't be written while a page renders. */
export async function setSessionCookie(token: string, expiresAt: string): Promise<void> {
  (await cookies()).set(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: env.ASTER_SESSION_COOKIE_SECURE,
    path: '/',
    expires: new Date(expiresAt),
  });
}

export type Session = { status: 'active'; whoami: Whoami } | { status: 'unavailable'; message: string };

/**
 * The signed-in user for a page at `path`, or a redirect to sign in. A token the API no longer
 * accepts goes through /session/expired, which can clear the cookie (a page render cannot). The answer
 * is read into the request's QueryClient, so the layout and the page ask once and the browser gets it too.
 */
export async function requireSession(path: string): Promise<Session> {
  if (!(await cookies()).get(SESSION_COOKIE)?.value) redirect(loginPath(path));
  const trpc = await serverTRPC();
  let whoami: Whoami;
  try {
    whoami = await getQueryClient().fetchQuery(trpc.auth.whoami.queryOptions());
  } catch (error) {
    if (isUnauthorized(error)) redirect(`/session/expired?next=${encodeURIComponent(path)}`);
    log.error('whoami failed', { error });
    return { status: 'unavailable', message: describeApiError(error) };
  }
  return { status: 'active', whoami };
}
