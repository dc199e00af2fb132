import { powerStates as power } from '@aster/compute';
import {
  actionResult,
  buildProgress,
  buildResult,
  computeQueue,
  CONDUCTOR_QUEUE,
  hostHeartbeat,
  hostStarted,
  hostStopped,
  powerStates,
  rebuildResult,
  rescueResult,
  resizeResult,
  snapshotResult,
  taskProgress,
  terminateInstance,
  handler,
  type Jobs,
  type ParsedOf,
} from '@aster/jobs';
import { transaction, type Pool } from '@aster/db';
import type { Logger } from '@aster/log';
import { finishWithEvents, loadInstance, openAction, recordEvent, type InstanceRow } from '../compute/instances.ts';
import { freePorts } from '../compute/ipam.ts';
import { freeAllocations, instanceConsumers, type Ratios } from '../compute/placement.ts';
import { applyRebuildResult } from '../servers/rebuild.ts';
import { applyRescueResult } from '../servers/rescue.ts';
import { applyResizeResult } from '../servers/resize.ts';
import { applySnapshotResult } from '../servers/snapshot.ts';
import { rescheduleOrFail } from './builds.ts';
import { applyPowerStates, onHeartbeats, onHostStarted, onHostStopped } from './hosts.ts';
import { once, recordFailure } from './reports.ts';
import { sweepHandler, startSweeping } from './sweeper.ts';

/**
 * The conductor (nova-conductor): the only writer of the instance state hosts report. It works the conductor
 * queue: hosts' own reports (hosts.ts), build results (a failure moves the build on, builds.ts), and the end of
 * every other task (here, and the servers/ modules' conductor halves); and the cloud's one sweep (sweeper.ts).
 */

export interface ConductorConfig {
  ratios: Ratios;
  /** A build not finished after this long fails (and is retried on an alternate), seconds. */
  buildTimeoutSeconds: number;
  serviceDownSeconds: number;
  /** How often stuck builds and dead hosts are looked for across the cloud, seconds. */
  sweepSeconds: number;
  /** Signs the image URLs in builds sent to alternates; the API's own (defaultApiConfig's) when not given. */
  serviceSecret?: string;
}

export interface ConductorDeps {
  db: Pool;
  jobs: Jobs;
  log: Logger;
  config: ConductorConfig;
}

/** What a finished host action leaves behind (Nova's compute manager, as data). */
const outcome: Record<string, { vmState: string; power: number; action: string }> = {
  stop: { vmState: 'stopped', power: power.SHUTDOWN, action: 'stop' },
  start: { vmState: 'active', power: power.RUNNING, action: 'start' },
  rebootSoft: { vmState: 'active', power: power.RUNNING, action: 'reboot' },
  rebootHard: { vmState: 'active', power: power.RUNNING, action: 'reboot' },
  pause: { vmState: 'paused', power: power.PAUSED, action: 'pause' },
  unpause: { vmState: 'active', power: power.RUNNING, action: 'unpause' },
  suspend: { vmState: 'suspended', power: power.SUSPENDED, action: 'suspend' },
  resume: { vmState: 'active', power: power.RUNNING, action: 'resume' },
};

export async function onBuildResult(deps: ConductorDeps, p: ParsedOf<typeof buildResult>, requestId: string): Promise<void> {
  await onBuildResults(deps, [{ p, requestId }]);
}

/**
 * Build results, any number at once: the successes in one transaction (a few statements for all of them), each
 * failure on its own (it moves the build to an alternate). A report seen before changes nothing, and a guest
 * nobody owns any more (the server deleted, or its build given to another host or up on) is torn down.
 */
export async function onBuildResults(deps: ConductorDeps, reports: { p: ParsedOf<typeof buildResult>; requestId: string }[]): Promise<void> {
  const built = reports.filter((r) => r.p.ok);
  if (built.length) {
    const terminate = await transaction(deps.db, async (client) => {
      const keys = built.map((r) => `build:${r.p.instanceId}:${r.p.attempt}`);
      const { rows: taken } = await client.query<{ key: string }>(
        'INSERT INTO applied_reports (key) SELECT DISTINCT unnest($1::text[]) ON CONFLICT DO NOTHING RETURNING key',
        [keys],
      );
      const fresh = new Set(taken.map((t) => t.key));
      // In id order, as every batch locks them, so that two batches never wait on each other in a circle.
      const { rows } = await client.query<InstanceRow>('SELECT * FROM instances WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [
        built.map((r) => r.p.instanceId),
      ]);
      const byId = new Map(rows.map((row) => [row.id, row]));
      const active: { p: ParsedOf<typeof buildResult> }[] = [];
      const strays: { p: ParsedOf<typeof buildResult>; requestId: string }[] = [];
      for (const [i, r] of built.entries()) {
        const { p } = r;
        const row = byId.get(p.instanceId.toLowerCase()); // Postgres answers ids in lower case
        if (!row) continue;
        const first = fresh.delete(keys[i]!);
        // Seen before, or given up on first (timed out, host taken for dead): a late copy nobody owns must go.
        if (!first) {
          if (row.host !== p.host || (row.vm_state === 'error' && row.launched_at === null && row.task_state === null)) strays.push(r);
          continue;
        }
        // Deleted meanwhile, or the build was given to another host: this copy must go.
        if (row.deleted_at || row.task_state === 'deleting' || row.host !== p.host || row.attempts !== p.attempt) {
          if (row.host !== p.host || row.deleted_at) strays.push(r);
          continue;
        }
        active.push(r);
      }
      if (active.length) {
        await client.query(
          `UPDATE instances i SET vm_state = 'active', task_state = NULL, power_state = r.power, launched_at = clock_timestamp()
             FROM unnest($1::uuid[], $2::smallint[]) AS r(id, power) WHERE i.id = r.id AND i.id = ANY($1::uuid[])`,
          [active.map((r) => r.p.instanceId), active.map((r) => r.p.powerState ?? power.RUNNING)],
        );
        await client.query('UPDATE compute_nodes SET failed_builds = 0 WHERE host = ANY($1::text[]) AND failed_builds > 0', [[...new Set(active.map((r) => r.p.host))]]);
        await finishWithEvents(
          client,
          'create',
          active.map(({ p }) => ({
            instanceId: p.instanceId,
            events: [
              ...(p.steps ?? []).map((step) => ({ event: `build_${step.replaceAll(' ', '_')}`, host: p.host, result: 'Success' as const })),
              { event: 'build', host: p.host, result: 'Success' as const },
            ],
          })),
        );
      }
      return strays;
    });
    for (const r of terminate) await deps.jobs.send(terminateInstance, computeQueue(r.p.host), { instanceId: r.p.instanceId }, { requestId: r.requestId });
  }
  for (const { p, requestId } of reports.filter((r) => !r.p.ok)) {
    await rescheduleOrFail(deps, p.instanceId, p.host, p.attempt, p.error ?? 'the build failed', p.details ?? null, requestId);
  }
}

export async function onActionResult(deps: ConductorDeps, p: ParsedOf<typeof actionResult>, requestId: string): Promise<void> {
  await transaction(deps.db, async (client) => {
    if (!(await once(client, `action:${p.instanceId}:${requestId}:${p.action}`))) return;
    const row = await loadInstance(client, p.instanceId, { forUpdate: true });
    if (!row || row.deleted_at) return;
    if (p.action === 'delete') {
      // A stray copy torn down (on a host the build left, or after the build was given up on) is not the server.
      if (row.task_state !== 'deleting' || row.host !== p.host) return;
      const actionId = await openAction(client, p.instanceId, 'delete');
      if (p.ok) {
        await client.query(
          `UPDATE instances SET vm_state = 'deleted', task_state = NULL, power_state = 0, deleted_at = clock_timestamp(),
                  terminated_at = clock_timestamp() WHERE id = $1`,
          [p.instanceId],
        );
        await freeAllocations(client, await instanceConsumers(client, p.instanceId));
        await freePorts(client, p.instanceId);
        await recordEvent(client, { actionId, event: 'compute_terminate_instance', host: p.host, result: 'Success', finish: true });
      } else {
        await recordFailure(client, {
          instanceId: p.instanceId,
          host: p.host,
          actionId,
          event: 'compute_terminate_instance',
          message: `Delete failed: ${p.error ?? 'unknown error'}`,
          error: p.error ?? null,
          details: p.details ?? null,
          vmState: 'error',
        });
      }
      return;
    }
    const o = outcome[p.action];
    if (!o) return;
    const actionId = await openAction(client, p.instanceId, o.action);
    if (p.ok) {
      await client.query(`UPDATE instances SET vm_state = $2, task_state = NULL, power_state = $3 WHERE id = $1 AND task_state IS NOT NULL`, [
        p.instanceId,
        o.vmState,
        p.powerState ?? o.power,
      ]);
      await recordEvent(client, { actionId, event: `compute_${p.action}`, host: p.host, result: 'Success', finish: true });
    } else {
      // The server keeps its state and says what went wrong.
      await recordFailure(client, {
        instanceId: p.instanceId,
        host: p.host,
        actionId,
        event: `compute_${p.action}`,
        message: `${o.action} failed: ${p.error ?? 'unknown error'}`,
        error: p.error ?? null,
        details: p.details ?? null,
        powerState: p.powerState,
      });
    }
  });
}

/** The steps a host may move a long task along, and no others (a host cannot set any state it likes). */
const progressSteps: Record<string, string> = {
  resize_prep: 'resize_migrating',
  resize_migrating: 'resize_finish',
  rebuilding: 'rebuild_spawning',
  image_snapshot: 'image_pending_upload',
  image_pending_upload: 'image_uploading',
};

async function onTaskProgress(deps: ConductorDeps, p: ParsedOf<typeof taskProgress>): Promise<void> {
  if (progressSteps[p.from] !== p.to) return;
  await deps.db.query(`UPDATE instances SET task_state = $4 WHERE id = $1 AND host = $2 AND task_state = $3 AND deleted_at IS NULL`, [
    p.instanceId,
    p.host,
    p.from,
    p.to,
  ]);
}

/**
 * Live build steps, written in the order they happened (each event's id then follows that order, as the action
 * log lists them). Progress of the current attempt only: a late report from an earlier host, or after the
 * build ended, is dropped.
 */
export async function onBuildProgress(deps: ConductorDeps, steps: ParsedOf<typeof buildProgress>[]): Promise<void> {
  const ordered = steps.map((s, n) => ({ ...s, n })).sort((a, b) => (a.at ?? '').localeCompare(b.at ?? '') || a.n - b.n);
  await deps.db.query(
    `INSERT INTO instance_action_events (action_id, event, host, result, finished_at)
     SELECT a.id, s.event, s.host, 'Success', clock_timestamp()
       FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[]) WITH ORDINALITY AS s(instance_id, host, attempt, event, n)
       JOIN instances i ON i.id = s.instance_id AND i.id = ANY($1::uuid[]) AND i.host = s.host AND i.attempts = s.attempt AND i.vm_state = 'building'
       JOIN LATERAL (SELECT id FROM instance_actions WHERE instance_id = i.id AND action = 'create' ORDER BY started_at DESC LIMIT 1) a ON true
      ORDER BY s.n`,
    [ordered.map((s) => s.instanceId), ordered.map((s) => s.host), ordered.map((s) => s.attempt), ordered.map((s) => `build_${s.step.replaceAll(' ', '_')}`)],
  );
}

/** Runs what it is given one after the other, in the order given, whatever each one's outcome. */
function oneAtATime(): <T>(fn: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return (fn) => {
    const next = last.then(fn, fn);
    last = next.catch(() => {});
    return next;
  };
}

/** How long the conductor lets reports gather before it takes them, ms: little beside a build's seconds. */
const REPORT_GATHER_MS = 20;

/** The conductor: works the conductor queue, and makes sure the cloud's sweep for builds that hang and hosts that died is due. */
export async function startConductor(deps: ConductorDeps, options: { concurrency?: number } = {}): Promise<void> {
  await deps.jobs.ensureQueue(CONDUCTOR_QUEUE, { retryLimit: 5, expireInSeconds: 300 });
  const stepsInOrder = oneAtATime();
  deps.jobs.work(
    CONDUCTOR_QUEUE,
    [
      handler(hostStarted, (p) => onHostStarted(deps, p)),
      handler(
        hostHeartbeat,
        (p) => onHeartbeats(deps, [p]),
        (jobs) => onHeartbeats(deps, jobs.map((j) => j.payload)),
      ),
      handler(hostStopped, (p) => onHostStopped(deps, p)),
      handler(powerStates, (p) => applyPowerStates(deps, p.host, p.instances)),
      // Steps taken together are written together, in the order they happened on their host; those taken
      // apart (a host reports each as it ends) are written one fetch after the other, in the order they came.
      handler(
        buildProgress,
        (p) => stepsInOrder(() => onBuildProgress(deps, [p])),
        (jobs) => stepsInOrder(() => onBuildProgress(deps, jobs.map((j) => j.payload))),
      ),
      // Reports that arrive together are applied together: under load, one transaction for many builds.
      handler(
        buildResult,
        (p, ctx) => onBuildResult(deps, p, ctx.requestId),
        (jobs) => onBuildResults(deps, jobs.map((j) => ({ p: j.payload, requestId: j.ctx.requestId }))),
      ),
      handler(actionResult, (p, ctx) => onActionResult(deps, p, ctx.requestId)),
      handler(taskProgress, (p) => onTaskProgress(deps, p)),
      handler(resizeResult, (p) => transaction(deps.db, (client) => applyResizeResult(client, p))),
      handler(rebuildResult, (p) => transaction(deps.db, (client) => applyRebuildResult(client, p))),
      handler(rescueResult, (p) => transaction(deps.db, (client) => applyRescueResult(client, p))),
      handler(snapshotResult, (p) => transaction(deps.db, (client) => applySnapshotResult(client, p))),
      sweepHandler(deps),
    ],
    // Reports are gathered for a moment before they are taken: under load, builds ending close together are then
    // applied in one transaction instead of each in its own.
    { concurrency: options.concurrency ?? 16, gatherMs: REPORT_GATHER_MS },
  );
  await startSweeping(deps);
}
