import type { TaskState, VmState } from './states.ts';

/**
 * Which states each server action may start from, and the task it sets while the host works (Nova's
 * `check_instance_state` decorators in nova/compute/api.py, as data). `taskStates: [null]` means the server
 * must not be busy; `to` is the task_state set by the compare-and-set update that starts the action.
 */
export interface ActionRule {
  vmStates: readonly VmState[];
  taskStates: readonly (TaskState | null)[];
  to: TaskState | null;
}

const IDLE = [null] as const;

export const actionRules = {
  stop: { vmStates: ['active', 'error', 'rescued'], taskStates: IDLE, to: 'powering_off' },
  start: { vmStates: ['stopped'], taskStates: IDLE, to: 'powering_on' },
  rebootSoft: { vmStates: ['active'], taskStates: IDLE, to: 'rebooting' },
  // A hard reboot may take over from a soft one that is stuck (Nova allows the same).
  rebootHard: {
    vmStates: ['active', 'stopped', 'paused', 'suspended', 'error'],
    taskStates: [null, 'rebooting', 'reboot_pending', 'reboot_started', 'rebooting_hard', 'reboot_pending_hard', 'reboot_started_hard'],
    to: 'rebooting_hard',
  },
  pause: { vmStates: ['active'], taskStates: IDLE, to: 'pausing' },
  unpause: { vmStates: ['paused'], taskStates: IDLE, to: 'unpausing' },
  suspend: { vmStates: ['active'], taskStates: IDLE, to: 'suspending' },
  resume: { vmStates: ['suspended'], taskStates: IDLE, to: 'resuming' },
  // Resizes stay on the server's host; confirm and revert answer a resize that waits in VERIFY_RESIZE.
  resize: { vmStates: ['active', 'stopped'], taskStates: IDLE, to: 'resize_prep' },
  confirmResize: { vmStates: ['resized'], taskStates: IDLE, to: 'resize_confirming' },
  revertResize: { vmStates: ['resized'], taskStates: IDLE, to: 'resize_reverting' },
  rebuild: { vmStates: ['active', 'stopped', 'error'], taskStates: IDLE, to: 'rebuilding' },
  // Rescue boots a fresh disk with the server's own disk attached beside it; unrescue boots the server's disk again.
  rescue: { vmStates: ['active', 'stopped', 'error'], taskStates: IDLE, to: 'rescuing' },
  unrescue: { vmStates: ['rescued'], taskStates: IDLE, to: 'unrescuing' },
  createImage: { vmStates: ['active', 'stopped', 'paused', 'suspended'], taskStates: IDLE, to: 'image_snapshot' },
  consoleLog: { vmStates: ['active', 'stopped', 'paused', 'suspended', 'error', 'rescued', 'resized'], taskStates: [], to: null },
  // A live console needs a running (or paused) guest, and none while a task starts it afresh: its console
  // ports are chosen again at each start, so a token given mid-reboot could point at another guest's.
  getConsole: {
    vmStates: ['active', 'paused', 'rescued', 'resized'],
    taskStates: [null, 'pausing', 'unpausing', 'image_snapshot', 'image_snapshot_pending', 'image_pending_upload', 'image_uploading', 'resize_confirming'],
    to: null,
  },
  // Delete is allowed from any state and any task except an ongoing delete.
  delete: { vmStates: [], taskStates: [], to: 'deleting' },
  lock: { vmStates: [], taskStates: [], to: null },
  unlock: { vmStates: [], taskStates: [], to: null },
} as const satisfies Record<string, ActionRule>;

export type ServerAction = keyof typeof actionRules;

/** Empty lists mean "any". */
export function actionAllowed(action: ServerAction, vmState: VmState, taskState: TaskState | null): boolean {
  const rule: ActionRule = actionRules[action];
  if (action === 'delete') return taskState !== 'deleting' && vmState !== 'deleted';
  const vmOk = rule.vmStates.length === 0 || rule.vmStates.includes(vmState);
  const taskOk = rule.taskStates.length === 0 || rule.taskStates.includes(taskState);
  return vmOk && taskOk;
}

/**
 * Why an action cannot start, in words a person understands; null when it can. Used for the API's CONFLICT
 * message and for the console's disabled buttons.
 */
export function whyNot(action: ServerAction, vmState: VmState, taskState: TaskState | null, status: string): string | null {
  if (actionAllowed(action, vmState, taskState)) return null;
  const name = actionLabel(action);
  if (taskState && !(actionRules[action] as ActionRule).taskStates.includes(taskState)) {
    return `Cannot ${name} the server while it is busy ${taskState.replaceAll('_', ' ')} (status ${status})`;
  }
  const allowed = (actionRules[action] as ActionRule).vmStates;
  return `Cannot ${name} a server in status ${status}${allowed.length ? ` (allowed from vm state ${allowed.join(', ')})` : ''}`;
}

export function actionLabel(action: ServerAction): string {
  switch (action) {
    case 'rebootSoft':
      return 'reboot';
    case 'rebootHard':
      return 'hard reboot';
    case 'consoleLog':
      return 'read the console log of';
    case 'getConsole':
      return 'open the console of';
    case 'confirmResize':
      return 'confirm the resize of';
    case 'revertResize':
      return 'revert the resize of';
    case 'createImage':
      return 'snapshot';
    default:
      return action;
  }
}
