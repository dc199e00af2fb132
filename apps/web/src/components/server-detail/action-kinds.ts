import { type ServerAction, type TaskState, type VmState, whyNot } from '@aster/compute/states';
import type { ActionKind } from '@/components/server-actions/kinds';
import type { Server } from './types';

export type { ActionInput, ActionKind } from '@/components/server-actions/kinds';

export const READER_ONLY = (role: string) => `Your role ${role} can only look`;

/** Who is acting, as far as the controls care. */
export interface Actor {
  canAct: boolean;
  isAdmin: boolean;
  role: string;
}

/** Why `kind` cannot start now, in words for a disabled control's tooltip; null when it can. */
export function whyDisabled(kind: ActionKind, server: Server, who: Actor): string | null {
  if (!who.canAct) return READER_ONLY(who.role);
  // Lock and unlock are not refused by state; the API answers for who may unlock.
  if (kind === 'lock' || kind === 'unlock') return null;
  // A lock stops everything but snapshots for anyone but an administrator (the API says the same).
  if (server.locked && !who.isAdmin && kind !== 'createImage') return `Server ${server.name} is locked; unlock it first`;
  return whyNot(kind satisfies ServerAction, server.vmState as VmState, server.taskState as TaskState | null, server.status);
}
