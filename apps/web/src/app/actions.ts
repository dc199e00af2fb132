'use server';

// Signing out and switching project stay Server Actions, off the one path pages take to the API (lib/trpc.tsx,
// lib/trpc-server.tsx): each replaces or clears the httpOnly session cookie, which only the web app's server may
// write and the browser's scripts must never see. Everything else goes through tRPC.

import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { describeApiError, isUnauthorized } from '@/lib/api-error';
import { apiClient, setSessionCookie } from '@/lib/session';
import { SESSION_COOKIE } from '@/lib/session-cookie';
import { log } from '@/lib/log';

export async function signOut(): Promise<void> {
  const store = await cookies();
  const token = store.get(SESSION_COOKIE)?.value;
  if (token) {
    try {
      await apiClient(token).auth.logout.mutate();
    } catch (error) {
      // Signing out of the browser must still work when the API is down or the token already
      // expired; an unrevoked token then lapses at its expiry.
      if (!isUnauthorized(error)) log.warn('sign-out could not revoke the session token', { error });
    }
  }
  store.delete(SESSION_COOKIE);
  redirect('/login');
}

/** Acts in another of the user's projects from now on: a new token scoped to it replaces the session's. */
export async function switchProject(project: string): Promise<void> {
  const store = await cookies();
  const token = store.get(SESSION_COOKIE)?.value;
  if (!token) redirect('/login');
  try {
    const switched = await apiClient(token).auth.switchProject.mutate({ project: String(project).slice(0, 255) });
    await setSessionCookie(switched.token, switched.expiresAt);
  } catch (error) {
    if (isUnauthorized(error)) redirect('/session/expired');
    log.warn('switching project failed', { error });
    throw new Error(describeApiError(error));
  }
  redirect('/');
}
