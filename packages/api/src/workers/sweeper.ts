import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CONDUCTOR_QUEUE, handler, type HandlerEntry, type JobContract } from '@aster/jobs';
import { finishAction, openAction, recordEvent } from '../compute/instances.ts';
import { failBuild, rescheduleOrFail, type BuildDeps } from './builds.ts';

/** What the sweep needs: how to move a build on, and how long builds and hosts may stay silent. */
export interface SweepDeps extends BuildDeps {
  config: BuildDeps['config'] & {
    /** A build or another task not finished after this long is taken for lost, seconds. */
    buildTimeoutSeconds: number;
    /** How often the cloud is swept, seconds. */
    sweepSeconds: number;
  };
}

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
export async function sweep(deps: SweepDeps): Promise<void> {
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

/**
 * The sweep of one slot of time: slot n is due n × sweepSeconds after the epoch. The conductor's own job, sent
 * only by conductors to their queue, so it is not among the hosts' contracts.
 */
export const sweepBuilds = { name: 'sweepBuilds', version: 1, schema: z.object({ slot: z.number().int().nonnegative() }) } satisfies JobContract;

/** Failed sends of the next slot's job are retried this often (each a sweepSeconds apart) before the chain of sweeps breaks. */
const SWEEP_RETRIES = 100;

/**
 * One sweep across the cloud each sweepSeconds, however many conductors run: each slot's sweep is a job on
 * the conductor queue whose id is made from the slot, so that a job sent twice for one slot (by two conductors
 * starting, or a handler run again) is one job, and whichever conductor takes it sweeps. The job of a slot
 * sends the next slot's before it sweeps; a conductor starting sends the next one due, which the running chain
 * has usually sent already. A chain that fell behind (no conductor ran for a while) skips to the next slot due
 * rather than sweeping once per slot missed.
 */
export async function sendSweep(deps: SweepDeps, after?: number): Promise<void> {
  const every = deps.config.sweepSeconds;
  const now = Date.now() / 1000;
  const slot = Math.max(Math.floor(now / every) + 1, after === undefined ? 0 : after + 1);
  await deps.jobs.send(
    sweepBuilds,
    CONDUCTOR_QUEUE,
    { slot },
    {
      requestId: `sweep-${slot}`,
      id: sweepJobId(every, slot),
      startAfterSeconds: Math.max(0, slot * every - now),
      retryLimit: SWEEP_RETRIES,
      retryDelaySeconds: every,
    },
  );
}

/** The conductor queue's handler of the sweep's jobs. */
export function sweepHandler(deps: SweepDeps): HandlerEntry {
  return handler(sweepBuilds, async (p) => {
    // The next first: a sweep that fails does not end the chain.
    await sendSweep(deps, p.slot);
    await sweep(deps).then(
      () => deps.log.debug('swept', { slot: p.slot }),
      (error: unknown) => deps.log.warn('sweeping stuck builds failed', { error, slot: p.slot }),
    );
  });
}

/** Makes sure a sweep is due (the conductor queue must exist). */
export async function startSweeping(deps: SweepDeps): Promise<void> {
  await sendSweep(deps);
}

/** A job id (a UUID) of its own for each slot of each sweep period. */
function sweepJobId(every: number, slot: number): string {
  const hex = createHash('sha256').update(`aster-sweep ${every} ${slot}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}
