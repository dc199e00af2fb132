import { whyNot, type ServerAction, type TaskState, type VmState } from '@aster/compute/states';
import { canAct } from '@/lib/whoami';
import type { Whoami } from '@/lib/session';
import type { RowAction, Server } from './types';

const ruleOf: Record<RowAction, ServerAction> = { start: 'start', stop: 'stop', reboot: 'rebootSoft', delete: 'delete' };

/** Why the signed-in user cannot do anything here, or null. */
export function whyReadOnly(whoami: Whoami): string | null {
  return canAct(whoami) ? null : `Your role ${whoami.roles.join(', ') || 'none'} can only look`;
}

/** Why `action` cannot start on `server` now (its state, its lock, or the user's role); null when it can. */
export function whyNotAction(action: RowAction, server: Server, whoami: Whoami): string | null {
  const readOnly = whyReadOnly(whoami);
  if (readOnly) return readOnly;
  if (server.locked && !whoami.isAdmin) return `Server ${server.name} is locked${server.lockedReason ? `: ${server.lockedReason}` : ''}`;
  return whyNot(ruleOf[action], server.vmState as VmState, server.taskState as TaskState | null, server.status);
}
