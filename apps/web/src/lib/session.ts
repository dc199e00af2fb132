import { createAsterClient } from '@aster/client';
import { cookies } from 'next/headers';
import { cache } from 'react';
import { redirect } from 'next/navigation';
import { env } from '@/env';
import { describeApiError, isUnauthorized } from './api-error';
import { loginPath } from './next-path';
import { SESSION_COOKIE } from './session-cookie';
import { log } from '@/lib/log';

export type AsterClient = ReturnType<typeof createAsterClient>;
export type Whoami = Awaited<ReturnType<AsterClient['auth']['whoami']['query']>>;

export function apiClient(token: string): AsterClient {
  return createAsterClient({ url: env.ASTER_API_URL, token });
}

export async function sessionToken(): Promise<string | undefined> {
  return (await cookies()).get(SESSION_COOKIE)?.value;
}

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

// The layout and the page of one request ask once.
const whoamiOf = cache((token: string) => apiClient(token).auth.whoami.query());

export type Session =
  | { status: 'active'; token: string; whoami: Whoami }
  | { status: 'unavailable'; message: string };

/**
 * The signed-in user for a page at `path`, or a redirect to sign in. A token the API no longer
 * accepts goes through /session/expired, which can clear the cookie (a page render cannot).
 */
export async function requireSession(path: string): Promise<Session> {
  const token = await sessionToken();
  if (!token) redirect(loginPath(path));
  try {
    const whoami = await whoamiOf(token);
    return { status: 'active', token, whoami };
  } catch (error) {
    if (isUnauthorized(error)) redirect(`/session/expired?next=${encodeURIComponent(path)}`);
    log.error('whoami failed', { error });
    return { status: 'unavailable', message: describeApiError(error) };
  }
}
