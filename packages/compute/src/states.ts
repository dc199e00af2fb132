/**
 * Nova's three states of an instance (nova/compute/vm_states.py, task_states.py, power_state.py) and the
 * API status derived from them. Pure data and functions: the api, the conductor and the web console share them.
 */

export const vmStates = [
  'building', 'active', 'stopped', 'paused', 'suspended', 'rescued', 'resized', 'soft_deleted', 'deleted', 'error',
  'shelved', 'shelved_offloaded',
] as const;
export type VmState = (typeof vmStates)[number];

export const taskStates = [
  'scheduling', 'block_device_mapping', 'networking', 'spawning',
  'image_snapshot', 'image_snapshot_pending', 'image_pending_upload', 'image_uploading',
  'rebooting', 'reboot_pending', 'reboot_started', 'rebooting_hard', 'reboot_pending_hard', 'reboot_started_hard',
  'pausing', 'unpausing', 'suspending', 'resuming', 'powering_off', 'powering_on',
  'rebuilding', 'rebuild_spawning', 'rescuing', 'unrescuing',
  'resize_prep', 'resize_migrating', 'resize_migrated', 'resize_finish', 'resize_reverting', 'resize_confirming',
  'deleting',
] as const;
export type TaskState = (typeof taskStates)[number];

/** libvirt-like power states with Nova's numbers. */
export const powerStates = { NOSTATE: 0, RUNNING: 1, PAUSED: 3, SHUTDOWN: 4, CRASHED: 6, SUSPENDED: 7 } as const;
export type PowerStateName = keyof typeof powerStates;
export type PowerState = (typeof powerStates)[PowerStateName];

export function powerStateName(value: number): PowerStateName {
  const found = (Object.keys(powerStates) as PowerStateName[]).find((k) => powerStates[k] === value);
  return found ?? 'NOSTATE';
}

export const statuses = [
  'BUILD', 'ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED', 'REBOOT', 'HARD_REBOOT', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE',
  'REVERT_RESIZE', 'RESCUE', 'ERROR', 'DELETED', 'SOFT_DELETED', 'SHELVED', 'SHELVED_OFFLOADED', 'UNKNOWN',
] as const;
export type Status = (typeof statuses)[number];

const RESIZING: TaskState[] = ['resize_prep', 'resize_migrating', 'resize_migrated', 'resize_finish'];

/** The API's status from vm_state and task_state (nova/api/openstack/common.py `_STATE_MAP`). */
export function serverStatus(vmState: VmState, taskState: TaskState | null): Status {
  const t = taskState;
  switch (vmState) {
    case 'active':
      if (t === 'rebooting' || t === 'reboot_pending' || t === 'reboot_started') return 'REBOOT';
      if (t === 'rebooting_hard' || t === 'reboot_pending_hard' || t === 'reboot_started_hard') return 'HARD_REBOOT';
      if (t === 'rebuilding' || t === 'rebuild_spawning') return 'REBUILD';
      if (t && RESIZING.includes(t)) return 'RESIZE';
      return 'ACTIVE';
    case 'building':
      return 'BUILD';
    case 'stopped':
      if (t && RESIZING.includes(t)) return 'RESIZE';
      if (t === 'rebuilding' || t === 'rebuild_spawning') return 'REBUILD';
      return 'SHUTOFF';
    case 'resized':
      return t === 'resize_reverting' ? 'REVERT_RESIZE' : 'VERIFY_RESIZE';
    case 'paused':
      return 'PAUSED';
    case 'suspended':
      return 'SUSPENDED';
    case 'rescued':
      return 'RESCUE';
    case 'error':
      return t === 'rebuilding' || t === 'rebuild_spawning' ? 'REBUILD' : 'ERROR';
    case 'deleted':
      return 'DELETED';
    case 'soft_deleted':
      return 'SOFT_DELETED';
    case 'shelved':
      return 'SHELVED';
    case 'shelved_offloaded':
      return 'SHELVED_OFFLOADED';
    default:
      return 'UNKNOWN';
  }
}

/** Words for a busy task state, for messages and the console ("busy rebooting"). */
export function describeTask(taskState: TaskState): string {
  return taskState.replaceAll('_', ' ');
}
