import { finishAction, openAction, recordEvent } from '../compute/instances.ts';
import type { ConductorDeps } from './conductor.ts';
import { rescheduleOrFail } from './conductor.ts';
import { failBuild } from './dispatch.ts';

/** The instance action a task state belongs to. */
const actionOfTask: Record<string, string> = {
  powering_off: 'stop',
  powering_on: 'start',
  rebooting: 'reboot',
  rebooting_hard: 'reboot',
  pausing: 'pause',
  unpausing: 'unpause',
  suspending: 'suspend',
  resuming: 'resume',
  resize_prep: 'resize',
  resize_migrating: 'resize',
  resize_finish: 'resize',
  resize_reverting: 'revertResize',
  rebuilding: 'rebuild',
  rebuild_spawning: 'rebuild',
  rescuing: 'rescue',
  unrescuing: 'unrescue',
  image_snapshot: 'createImage',
  image_pending_upload: 'createImage',
  image_uploading: 'createImage',
};

/**
 * Finds what a dead host or a lost job left hanging: builds on a host that stopped heartbeating or that ran
 * past the build timeout (rescheduled to an alternate, else ERROR), builds never scheduled, and other tasks
 * that never got an answer (their task state reverted, with an event that says so). Nothing stays in BUILD.
 */
export async function sweep(deps: ConductorDeps): Promise<void> {
  const { db, config } = deps;
  const { rows } = await db.query<{ id: string; host: string | null; attempts: number; task_state: string; vm_state: string; timed_out: boolean; host_down: boolean }>(
    `SELECT i.id, i.host, i.attempts, i.task_state, i.vm_state,
            i.task_started_at < now() - make_interval(secs => $1) AS timed_out,
            (i.host IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM services s WHERE s.host = i.host AND s.binary_name = 'aster-compute' AND s.stopped_at IS NULL AND NOT s.forced_down
                  AND s.last_seen_at > now() - make_interval(secs => $2))) AS host_down
       FROM instances i
      WHERE i.deleted_at IS NULL AND i.task_state IS NOT NULL
        AND (i.task_started_at < now() - make_interval(secs => $1)
             OR (i.vm_state = 'building' AND i.task_state = 'spawning' AND i.task_started_at < now() - make_interval(secs => $2)))
      LIMIT 500`,
    [config.buildTimeoutSeconds, config.serviceDownSeconds],
  );
  for (const r of rows) {
    if (r.vm_state === 'building') {
      if (r.task_state === 'spawning' && r.host && (r.host_down || r.timed_out)) {
        const why = r.host_down
          ? `the host stopped responding (no heartbeat for ${config.serviceDownSeconds} s)`
          : `the build did not finish within ${config.buildTimeoutSeconds} s`;
        await rescheduleOrFail(deps, r.id, r.host, r.attempts, why, null, `sweep-${r.id}-${r.attempts}`);
      } else if (r.timed_out) {
        await failBuild(db, r.id, `Build timed out after ${config.buildTimeoutSeconds} s while ${r.task_state.replaceAll('_', ' ')}`, null);
      }
      continue;
    }
    if (!r.timed_out || r.task_state === 'deleting') continue;
    // Any other task that never got its answer: revert it so the server can be acted on again.
    const { rowCount } = await db.query(`UPDATE instances SET task_state = NULL WHERE id = $1 AND task_state = $2`, [r.id, r.task_state]);
    if (rowCount) {
      const actionId = await openAction(db, r.id, actionOfTask[r.task_state] ?? r.task_state);
      await recordEvent(db, { actionId, event: 'timeout', host: r.host, result: 'Error', details: `no answer from the host within ${config.buildTimeoutSeconds} s` });
      if (actionId) await finishAction(db, actionId, 'timed out');
    }
  }
}
