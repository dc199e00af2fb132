'use client';

import { canAct, useWhoami } from '@/lib/whoami';

/** Why the signed-in user may not change this project's resources, or null when they may. */
export function useReadOnlyReason(): string | null {
  const whoami = useWhoami();
  if (canAct(whoami)) return null;
  return `Your role ${whoami.roles.join(', ') || 'none'} can only look`;
}

/** Why a control is for cloud administrators only, or null for one. */
export function useAdminOnlyReason(what: string): string | null {
  const whoami = useWhoami();
  return whoami.isAdmin ? null : `Only administrators can ${what}`;
}
