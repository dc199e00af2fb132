import { describe, expect, it } from 'vitest';
import {
  actionAllowed,
  actionLabel,
  actionRules,
  serverStatus,
  taskStates,
  vmStates,
  whyNot,
  type ServerAction,
  type Status,
  type TaskState,
  type VmState,
} from '../src/index.ts';

const RESIZE: TaskState[] = ['resize_prep', 'resize_migrating', 'resize_migrated', 'resize_finish'];
const REBUILD: TaskState[] = ['rebuilding', 'rebuild_spawning'];
const each = (tasks: TaskState[], status: Status) => Object.fromEntries(tasks.map((t) => [t, status]));

/**
 * nova/api/openstack/common.py `_STATE_MAP`, limited to the task states Aster has: a default status per
 * vm_state, overridden by some task states.
 */
const novaStateMap: Record<VmState, { default: Status } & Partial<Record<TaskState, Status>>> = {
  active: {
    default: 'ACTIVE',
    ...each(['rebooting', 'reboot_pending', 'reboot_started'], 'REBOOT'),
    ...each(['rebooting_hard', 'reboot_pending_hard', 'reboot_started_hard'], 'HARD_REBOOT'),
    ...each(REBUILD, 'REBUILD'),
    ...each(RESIZE, 'RESIZE'),
  },
  building: { default: 'BUILD' },
  stopped: { default: 'SHUTOFF', ...each(RESIZE, 'RESIZE'), ...each(REBUILD, 'REBUILD') },
  resized: { default: 'VERIFY_RESIZE', resize_reverting: 'REVERT_RESIZE' },
  paused: { default: 'PAUSED' },
  suspended: { default: 'SUSPENDED' },
  rescued: { default: 'RESCUE' },
  error: { default: 'ERROR', ...each(REBUILD, 'REBUILD') },
  deleted: { default: 'DELETED' },
  soft_deleted: { default: 'SOFT_DELETED' },
  shelved: { default: 'SHELVED' },
  shelved_offloaded: { default: 'SHELVED_OFFLOADED' },
};
const novaStatus = (vm: VmState, task: TaskState | null): Status => (task && novaStateMap[vm][task]) || novaStateMap[vm].default;

describe('serverStatus(vm_state, task_state) follows Nova’s _STATE_MAP', () => {
  for (const vm of vmStates) {
    it(`${vm}, for no task and for every task state`, () => {
      const tasks = [null, ...taskStates];
      const actual = Object.fromEntries(tasks.map((t) => [String(t), serverStatus(vm, t)]));
      const expected = Object.fromEntries(tasks.map((t) => [String(t), novaStatus(vm, t)]));
      expect(actual).toEqual(expected);
    });
  }

  it('error while rebuild_spawning is REBUILD, as in Nova', () => {
    expect(serverStatus('error', 'rebuild_spawning')).toBe('REBUILD');
  });

  it('answers UNKNOWN for a vm_state it does not know rather than throwing', () => {
    expect(serverStatus('nonsense' as VmState, null)).toBe('UNKNOWN');
  });
});

const ANY = vmStates.filter((v) => v !== 'deleted');
/** From which vm states each action may start while the server is idle (nova/compute/api.py check_instance_state). */
const allowedFrom: Record<ServerAction, readonly VmState[]> = {
  stop: ['active', 'error', 'rescued'],
  start: ['stopped'],
  rebootSoft: ['active'],
  rebootHard: ['active', 'stopped', 'paused', 'suspended', 'error'],
  pause: ['active'],
  unpause: ['paused'],
  suspend: ['active'],
  resume: ['suspended'],
  consoleLog: ['active', 'stopped', 'paused', 'suspended', 'error', 'rescued', 'resized'],
  getConsole: ['active', 'paused', 'rescued', 'resized'],
  delete: ANY,
  lock: vmStates,
  unlock: vmStates,
  resize: ['active', 'stopped'],
  confirmResize: ['resized'],
  revertResize: ['resized'],
  rebuild: ['active', 'stopped', 'error'],
  rescue: ['active', 'stopped', 'error'],
  unrescue: ['rescued'],
  createImage: ['active', 'stopped', 'paused', 'suspended'],
};
/** The task each action sets by compare-and-set when it starts. */
const startsTask: Record<ServerAction, TaskState | null> = {
  stop: 'powering_off',
  start: 'powering_on',
  rebootSoft: 'rebooting',
  rebootHard: 'rebooting_hard',
  pause: 'pausing',
  unpause: 'unpausing',
  suspend: 'suspending',
  resume: 'resuming',
  consoleLog: null,
  getConsole: null,
  delete: 'deleting',
  lock: null,
  unlock: null,
  resize: 'resize_prep',
  confirmResize: 'resize_confirming',
  revertResize: 'resize_reverting',
  rebuild: 'rebuilding',
  rescue: 'rescuing',
  unrescue: 'unrescuing',
  createImage: 'image_snapshot',
};
const actions = Object.keys(actionRules) as ServerAction[];
const SOFT_REBOOTS: TaskState[] = ['rebooting', 'reboot_pending', 'reboot_started'];
const HARD_REBOOTS: TaskState[] = ['rebooting_hard', 'reboot_pending_hard', 'reboot_started_hard'];

describe('actionAllowed and whyNot, every action × vm_state while idle', () => {
  it('covers exactly the actions of the rules', () => {
    expect(actions.sort()).toEqual((Object.keys(allowedFrom) as ServerAction[]).sort());
    expect(Object.fromEntries(actions.map((a) => [a, actionRules[a].to]))).toEqual(startsTask);
  });

  for (const action of actions) {
    it(`${action}`, () => {
      const allowed = Object.fromEntries(vmStates.map((vm) => [vm, actionAllowed(action, vm, null)]));
      expect(allowed).toEqual(Object.fromEntries(vmStates.map((vm) => [vm, allowedFrom[action].includes(vm)])));
      for (const vm of vmStates) {
        const why = whyNot(action, vm, null, serverStatus(vm, null));
        if (allowed[vm]) {
          expect({ vm, why }).toEqual({ vm, why: null });
          continue;
        }
        // The refusal names the action in words and the server's status; where the rule lists states, those too.
        expect(why).toContain(`Cannot ${actionLabel(action)} a server in status ${serverStatus(vm, null)}`);
        const listed = actionRules[action].vmStates as readonly VmState[];
        if (listed.length) expect(why).toContain(`(allowed from vm state ${listed.join(', ')})`);
      }
    });
  }

  it('labels actions in words', () => {
    expect(actionLabel('rebootSoft')).toBe('reboot');
    expect(actionLabel('rebootHard')).toBe('hard reboot');
    expect(actionLabel('consoleLog')).toBe('read the console log of');
    expect(actionLabel('stop')).toBe('stop');
    expect(actionLabel('rescue')).toBe('rescue');
    expect(actionLabel('unrescue')).toBe('unrescue');
  });
});

describe('busy servers', () => {
  const idleOnly: ServerAction[] = ['stop', 'start', 'rebootSoft', 'pause', 'unpause', 'suspend', 'resume', 'rescue', 'unrescue'];

  for (const action of idleOnly) {
    it(`${action} is refused during every task, saying with what the server is busy`, () => {
      const vm = allowedFrom[action][0]!;
      for (const task of taskStates) {
        expect({ task, allowed: actionAllowed(action, vm, task) }).toEqual({ task, allowed: false });
        expect(whyNot(action, vm, task, serverStatus(vm, task))).toBe(
          `Cannot ${actionLabel(action)} the server while it is busy ${task.replaceAll('_', ' ')} (status ${serverStatus(vm, task)})`,
        );
      }
    });
  }

  it('a hard reboot may take over from a soft (or another hard) reboot, not from other tasks', () => {
    for (const task of [...SOFT_REBOOTS, ...HARD_REBOOTS]) {
      expect({ task, allowed: actionAllowed('rebootHard', 'active', task) }).toEqual({ task, allowed: true });
      expect(whyNot('rebootHard', 'active', task, serverStatus('active', task))).toBeNull();
    }
    for (const task of taskStates.filter((t) => !SOFT_REBOOTS.includes(t) && !HARD_REBOOTS.includes(t))) {
      expect({ task, allowed: actionAllowed('rebootHard', 'active', task) }).toEqual({ task, allowed: false });
    }
    expect(whyNot('rebootHard', 'active', 'powering_off', 'ACTIVE')).toBe('Cannot hard reboot the server while it is busy powering off (status ACTIVE)');
  });

  it('a soft reboot may not take over from a hard one, nor repeat itself', () => {
    for (const task of [...SOFT_REBOOTS, ...HARD_REBOOTS]) {
      expect({ task, allowed: actionAllowed('rebootSoft', 'active', task) }).toEqual({ task, allowed: false });
    }
    expect(whyNot('rebootSoft', 'active', 'rebooting_hard', 'HARD_REBOOT')).toBe(
      'Cannot reboot the server while it is busy rebooting hard (status HARD_REBOOT)',
    );
  });

  it('delete is allowed during any task except a delete, and never for a deleted server', () => {
    for (const task of taskStates.filter((t) => t !== 'deleting')) {
      for (const vm of ANY) expect({ vm, task, allowed: actionAllowed('delete', vm, task) }).toEqual({ vm, task, allowed: true });
    }
    for (const vm of vmStates) expect(actionAllowed('delete', vm, 'deleting')).toBe(false);
    expect(actionAllowed('delete', 'deleted', null)).toBe(false);
    expect(whyNot('delete', 'active', 'deleting', 'ACTIVE')).toBe('Cannot delete the server while it is busy deleting (status ACTIVE)');
    expect(whyNot('delete', 'deleted', null, 'DELETED')).toBe('Cannot delete a server in status DELETED');
  });

  it('lock, unlock and the console log do not wait for a task to finish', () => {
    for (const task of taskStates) {
      expect(actionAllowed('lock', 'active', task)).toBe(true);
      expect(actionAllowed('unlock', 'building', task)).toBe(true);
      expect(actionAllowed('consoleLog', 'active', task)).toBe(true);
    }
  });
});

describe('getConsole', () => {
  it('is refused while a task starts the guest afresh (its console ports change), allowed while pausing or snapshotting', () => {
    for (const busy of ['rebooting', 'rebooting_hard', 'powering_off', 'suspending', 'rebuilding', 'resize_migrating', 'rescuing', 'unrescuing', 'deleting'] as const) {
      expect({ busy, allowed: actionAllowed('getConsole', 'active', busy) }).toEqual({ busy, allowed: false });
    }
    for (const busy of ['pausing', 'image_snapshot', 'image_uploading'] as const) {
      expect({ busy, allowed: actionAllowed('getConsole', 'active', busy) }).toEqual({ busy, allowed: true });
    }
    expect(whyNot('getConsole', 'stopped', null, 'SHUTOFF')).toBe('Cannot open the console of a server in status SHUTOFF (allowed from vm state active, paused, rescued, resized)');
  });
});
