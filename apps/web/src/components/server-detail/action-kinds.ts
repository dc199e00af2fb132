import { type ServerAction, type TaskState, type VmState, whyNot } from '@aster/compute/states';
import type { Server } from './types';

/** Everything the Actions menu and the resize banner can ask of a server. */
export type ActionKind =
  | 'start'
  | 'stop'
  | 'rebootSoft'
  | 'rebootHard'
  | 'pause'
  | 'unpause'
  | 'suspend'
  | 'resume'
  | 'lock'
  | 'unlock'
  | 'resize'
  | 'confirmResize'
  | 'revertResize'
  | 'rebuild'
  | 'createImage'
  | 'rescue'
  | 'unrescue'
  | 'delete';

/** What the toast says at once ("Stopping web-1…"). */
export const PROGRESS: Record<ActionKind, string> = {
  start: 'Starting',
  stop: 'Stopping',
  rebootSoft: 'Rebooting',
  rebootHard: 'Hard rebooting',
  pause: 'Pausing',
  unpause: 'Unpausing',
  suspend: 'Suspending',
  resume: 'Resuming',
  lock: 'Locking',
  unlock: 'Unlocking',
  resize: 'Resizing',
  confirmResize: 'Confirming the resize of',
  revertResize: 'Reverting the resize of',
  rebuild: 'Rebuilding',
  createImage: 'Creating an image of',
  rescue: 'Rescuing',
  unrescue: 'Unrescuing',
  delete: 'Deleting',
};

/** The extra input some actions take, from their dialogs. */
export type ActionInput = { flavorId?: string; imageId?: string; name?: string; reason?: string };

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
