'use client';

import { useSuspenseQuery } from '@tanstack/react-query';
import type { Whoami } from './session';
import { useTRPC } from './trpc';

/**
 * Who is signed in, for client components (role gates, project names). The shell's layout reads it on the
 * server and hands it over with the page, so this never waits; it changes only with a new session (a project
 * switch renders the shell anew), so it is never read again meanwhile.
 */
export function useWhoami(): Whoami {
  const trpc = useTRPC();
  return useSuspenseQuery({ ...trpc.auth.whoami.queryOptions(), staleTime: Infinity, gcTime: Infinity }).data;
}

/** Members and admins of the project may act; readers may only look. */
export function canAct(whoami: Whoami): boolean {
  return whoami.isAdmin || whoami.roles.some((r) => r === 'member' || r === 'admin');
}
