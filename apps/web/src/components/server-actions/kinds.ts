/** Everything a page can ask of a server (the Actions menu, the resize banner, the Instances rows). */
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

/** An action followed to its end: one of the above, or the launch of a new server. */
export type TrackedKind = ActionKind | 'create';

/** The extra input some actions take, from their dialogs. */
export type ActionInput = { flavorId?: string; imageId?: string; name?: string; reason?: string };

/** What the toast says at once ("Stopping web-1…"), and before a failure ("Stopping web-1 failed: …"). */
export const PROGRESS: Record<TrackedKind, string> = {
  create: 'Launching',
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
