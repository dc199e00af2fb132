import type { Status } from '@aster/compute/states';
import type { ActionInput, TrackedKind } from './kinds';
import { PROGRESS } from './kinds';

/** The parts of a server's view an action's end is read from. */
export interface ServerView {
  id: string;
  name: string;
  status: Status;
  taskState: string | null;
  changeSeq: string;
  deletedAt: string | null;
  fault: { message: string } | null;
  flavor: { name: string };
  image: { name: string };
}

/** The parts of an instance action (servers.actions) an outcome is read from. */
export interface ActionRecord {
  requestId: string;
  message: string | null;
  finishedAt: string | null;
  events: { event: string; result: 'Success' | 'Error' | null; details: string | null }[];
}

/** An action being followed on one server. */
export interface Followed {
  kind: TrackedKind;
  input: ActionInput;
  /** The change number of the API's answer: only later views can show the end. */
  since: bigint;
  /** False when the API answered with something else than the server (createImage answers the image's id). */
  answeredWithView: boolean;
}

export type Outcome = { ok: boolean; message: string };
/** Not over yet; over; or over as far as the server shows, and the action log says whether it failed. */
export type Step = 'wait' | 'ask-log' | Outcome;

/**
 * What a finished action leaves: one of these statuses, the server deleted, or any status (lock, unlock and
 * snapshots do not change it). A server that comes back with a task cleared and another status did not do it.
 */
const ENDS: Record<TrackedKind, readonly Status[] | 'deleted' | 'any'> = {
  create: ['ACTIVE'],
  start: ['ACTIVE'],
  stop: ['SHUTOFF'],
  rebootSoft: ['ACTIVE'],
  rebootHard: ['ACTIVE'],
  pause: ['PAUSED'],
  unpause: ['ACTIVE'],
  suspend: ['SUSPENDED'],
  resume: ['ACTIVE'],
  lock: 'any',
  unlock: 'any',
  resize: ['VERIFY_RESIZE'],
  // A resize answered comes back as its power state says: running, or shut down if it was.
  confirmResize: ['ACTIVE', 'SHUTOFF'],
  revertResize: ['ACTIVE', 'SHUTOFF'],
  rebuild: ['ACTIVE', 'SHUTOFF'],
  rescue: ['RESCUE'],
  unrescue: ['ACTIVE'],
  createImage: 'any',
  delete: 'deleted',
};

/** The toast for an action that did what it was asked, in its own words. */
const DONE: Record<TrackedKind, (server: ServerView, input: ActionInput) => string> = {
  create: (s) => `${s.name} is running`,
  start: (s) => `${s.name} is started`,
  stop: (s) => `${s.name} is stopped`,
  rebootSoft: (s) => `${s.name} is rebooted`,
  rebootHard: (s) => `${s.name} is rebooted (hard)`,
  pause: (s) => `${s.name} is paused`,
  unpause: (s) => `${s.name} is unpaused`,
  suspend: (s) => `${s.name} is suspended`,
  resume: (s) => `${s.name} is resumed`,
  lock: (s) => `${s.name} is locked`,
  unlock: (s) => `${s.name} is unlocked`,
  resize: (s) => `${s.name} is resized to ${s.flavor.name}: confirm or revert the resize`,
  confirmResize: (s) => `The resize of ${s.name} is confirmed: it keeps ${s.flavor.name}`,
  revertResize: (s) => `The resize of ${s.name} is reverted: it is back on ${s.flavor.name}`,
  rebuild: (s) => `${s.name} is rebuilt from ${s.image.name}`,
  rescue: (s) => `${s.name} is in rescue`,
  unrescue: (s) => `${s.name} is out of rescue`,
  createImage: (s, input) => (input.name ? `Image ${input.name} of ${s.name} is saved` : `An image of ${s.name} is saved`),
  delete: (s) => `${s.name} is deleted`,
};

const failed = (kind: TrackedKind, name: string, why: string): Outcome => ({ ok: false, message: `${PROGRESS[kind]} ${name} failed: ${why}` });

/** The API refused the action: it never started. */
export function refused(kind: TrackedKind, name: string, reason: string): Outcome {
  return failed(kind, name, reason);
}

/**
 * Reads a view of the server for the end of the action: the server deleted, or its task cleared (an ERROR
 * with its fault is a failure at once; otherwise the action log has the last word). Views not newer than the
 * answer show nothing new, except an answer that is already idle (lock, unlock, confirming a resize end there).
 */
export function step(f: Followed, view: ServerView, isAnswer = false): Step {
  if (!isAnswer && BigInt(view.changeSeq) <= f.since) return 'wait';
  if (view.status === 'DELETED' || view.deletedAt) {
    return f.kind === 'delete' ? { ok: true, message: DONE.delete(view, f.input) } : failed(f.kind, view.name, 'the server was deleted');
  }
  if (view.taskState) return 'wait';
  const ends = ENDS[f.kind];
  if (view.status === 'ERROR' && !(Array.isArray(ends) && ends.includes('ERROR'))) {
    return { ok: false, message: `${view.name} is ERROR${view.fault ? `: ${view.fault.message}` : ''}` };
  }
  // A build that failed on one host and came up on the next is a launch that worked: its status says it all.
  if (f.kind === 'create') return ended(f, view);
  return 'ask-log';
}

/**
 * The end of an action whose server is idle again: failed if its instance action (found by the call's request
 * id) has an event in Error, else done if the server is where the action leads. An action the API answered
 * without the server's view is waited on until its record is finished.
 */
export function judge(f: Followed, view: ServerView, action: ActionRecord | undefined): 'wait' | Outcome {
  const error = action?.events.find((e) => e.result === 'Error');
  if (error) return failed(f.kind, view.name, error.details ?? action?.message ?? error.event);
  if (action && !action.finishedAt && !f.answeredWithView) return 'wait';
  return ended(f, view);
}

/** The end of an action by where the idle server is: where the action leads, or not. */
export function ended(f: Followed, view: ServerView): Outcome {
  const ends = ENDS[f.kind];
  if (ends === 'any' || (Array.isArray(ends) && ends.includes(view.status))) return { ok: true, message: DONE[f.kind](view, f.input) };
  return failed(f.kind, view.name, `it is ${view.status}`);
}
