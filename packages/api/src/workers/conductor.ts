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
import { transaction, type Pool, type PoolClient } from '@aster/db';
import type { Logger } from '@aster/log';
import { finishWithEvents, loadInstance, openAction, recordEvent, recordFault, type InstanceRow } from '../compute/instances.ts';
import { freePorts } from '../compute/ipam.ts';
import { claimForInstance, groupOf } from '../compute/group-placement.ts';
import { freeAllocations, instanceConsumers, providerIdOf, upsertProvider, type Ratios } from '../compute/placement.ts';
import { defaultApiConfig } from '../context.ts';
import { applyRebuildResult } from '../servers/rebuild.ts';
import { applyRescueResult } from '../servers/rescue.ts';
import { applyResizeResult } from '../servers/resize.ts';
import { applySnapshotResult } from '../servers/snapshot.ts';
import { computeServiceUsable, markStopped, registerService } from '../services/registry.ts';
import { dispatchBuild, failBuild } from './dispatch.ts';
import { sweep } from './sweeper.ts';

export interface ConductorConfig {
  ratios: Ratios;
  /** A build not finished after this long fails (and is retried on an alternate), seconds. */
  buildTimeoutSeconds: number;
  serviceDownSeconds: number;
  /** How often stuck builds and dead hosts are looked for, seconds. */
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

/** Applies a report once: a job delivered twice finds its key taken and changes nothing. */
async function once(client: PoolClient, key: string): Promise<boolean> {
  const { rowCount } = await client.query('INSERT INTO applied_reports (key) VALUES ($1) ON CONFLICT DO NOTHING', [key]);
  return rowCount === 1;
}

export async function onHostStarted(deps: ConductorDeps, p: ParsedOf<typeof hostStarted>): Promise<void> {
  // The host's queue first, before the scheduler can see the host. Builds are retried through alternates,
  // not by re-running a job; a job whose host died mid-work expires after 15 minutes.
  await deps.jobs.ensureQueue(computeQueue(p.host), { retryLimit: 2, expireInSeconds: 15 * 60 });
  const stale = await transaction(deps.db, async (client) => {
    await registerService(client, p.host, 'aster-compute', new Date());
    const providerId = await upsertProvider(client, p.host, p.inventory, deps.config.ratios);
    await client.query(
      `INSERT INTO compute_nodes (host, provider_id, hypervisor_type, capabilities, running_vms) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (host) DO UPDATE SET provider_id = $2, hypervisor_type = $3, capabilities = $4, running_vms = $5, updated_at = now()`,
      [p.host, providerId, p.capabilities.hypervisorType, JSON.stringify(p.capabilities), p.instances.length],
    );
    // Instances the host still runs but that were deleted meanwhile are torn down (Nova's running_deleted cleanup).
    const { rows } = await client.query<{ id: string; stale: boolean }>(
      `SELECT id, (deleted_at IS NOT NULL OR host IS DISTINCT FROM $2) AS stale FROM instances WHERE id = ANY($1::uuid[])`,
      [p.instances.map((i) => i.id), p.host],
    );
    return { stale: rows.filter((r) => r.stale).map((r) => r.id), known: new Set(rows.map((r) => r.id)) };
  });
  for (const id of stale.stale) await deps.jobs.send(terminateInstance, computeQueue(p.host), { instanceId: id }, { requestId: `cleanup-${id}` });
  // Guests the host has that no instance here knows of: an operator's to look at, never destroyed silently.
  const orphans = p.instances.filter((i) => !stale.known.has(i.id)).map((i) => i.id);
  if (orphans.length) deps.log.warn('the host has guests that belong to no instance (left alone)', { host: p.host, guests: orphans });
  await applyPowerStates(deps, p.host, p.instances);
  deps.log.info('compute host registered', { host: p.host, hypervisor: p.capabilities.hypervisorType, ...p.inventory });
}

/**
 * Nova's power-state sync: what the hypervisor says wins for idle servers; an active server whose guest shut
 * itself down becomes SHUTOFF.
 */
async function applyPowerStates(deps: ConductorDeps, host: string, reported: { id: string; powerState: number; vanished?: boolean | undefined }[]): Promise<void> {
  const vanished = reported.filter((i) => i.vanished).map((i) => i.id);
  if (vanished.length) await markVanished(deps, host, vanished);
  const instances = reported.filter((i) => !i.vanished);
  if (!instances.length) return;
  await deps.db.query(
    `UPDATE instances i SET power_state = r.power,
            vm_state = CASE WHEN i.vm_state = 'active' AND r.power IN (${power.SHUTDOWN}, ${power.CRASHED}) THEN 'stopped' ELSE i.vm_state END
       FROM (SELECT * FROM unnest($1::uuid[], $2::smallint[]) AS t(id, power)) r
      WHERE i.id = r.id AND i.id = ANY($1::uuid[]) AND i.host = $3 AND i.task_state IS NULL AND i.deleted_at IS NULL AND i.vm_state <> 'building'
        AND (i.power_state <> r.power OR (i.vm_state = 'active' AND r.power IN (${power.SHUTDOWN}, ${power.CRASHED})))`,
    [instances.map((i) => i.id), instances.map((i) => i.powerState), host],
  );
}

/**
 * A guest removed from its host outside Aster: the server goes to ERROR with a fault that says so (Nova only
 * logs it), so its owner sees why it stopped answering and can delete or rebuild it.
 */
async function markVanished(deps: ConductorDeps, host: string, ids: string[]): Promise<void> {
  await transaction(deps.db, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `UPDATE instances SET vm_state = 'error', power_state = ${power.NOSTATE}
        WHERE id = ANY($1::uuid[]) AND host = $2 AND task_state IS NULL AND deleted_at IS NULL AND vm_state NOT IN ('building', 'error')
        RETURNING id`,
      [ids, host],
    );
    for (const { id } of rows) {
      await recordFault(client, {
        instanceId: id,
        code: 500,
        message: 'The virtual machine of this server is gone from its host: it was removed outside Aster',
        details: `libvirt on host ${host} no longer has domain ${id}`,
        host,
      });
    }
    if (rows.length) deps.log.warn('servers whose guests vanished from their host are now in ERROR', { host, instanceIds: rows.map((r) => r.id) });
  });
}

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

/** Heartbeats of many hosts in one statement: each host's service seen now, and its running guests counted. */
export async function onHeartbeats(deps: ConductorDeps, beats: ParsedOf<typeof hostHeartbeat>[]): Promise<void> {
  // The last beat of each host counts.
  const last = new Map(beats.map((b) => [b.host, b.runningVms]));
  await deps.db.query(
    `WITH b AS (SELECT * FROM unnest($1::text[], $2::int[]) AS b(host, running)),
          s AS (UPDATE services s SET last_seen_at = $3, stopped_at = NULL FROM b WHERE s.host = b.host AND s.binary_name = 'aster-compute')
     UPDATE compute_nodes cn SET running_vms = b.running, updated_at = now() FROM b WHERE cn.host = b.host`,
    [[...last.keys()], [...last.values()], new Date()],
  );
}

/**
 * A build failed on `host`: give back its claim there, then claim the next alternate and send the build there,
 * without asking the scheduler again; with no alternate left, ERROR with a fault naming every failure.
 */
export async function rescheduleOrFail(
  deps: ConductorDeps,
  instanceId: string,
  host: string,
  attempt: number,
  error: string,
  details: string | null,
  requestId: string,
): Promise<void> {
  const next = await transaction(deps.db, async (client) => {
    if (!(await once(client, `build:${instanceId}:${attempt}`))) return null;
    const row = await loadInstance(client, instanceId, { forUpdate: true });
    if (!row || row.deleted_at || row.vm_state !== 'building' || row.host !== host || row.attempts !== attempt) return null;
    // The group's lock before any provider's, as every claim takes them, so that claims never deadlock.
    const group = await groupOf(client, instanceId);
    if (group) await client.query('SELECT 1 FROM server_groups WHERE id = $1 FOR UPDATE', [group.id]);
    const providerId = await providerIdOf(client, host);
    if (providerId) await freeAllocations(client, instanceId, providerId);
    // Nova's BuildFailureWeigher: a host that keeps failing builds is tried last until one succeeds there.
    await client.query('UPDATE compute_nodes SET failed_builds = failed_builds + 1 WHERE host = $1', [host]);
    const actionId = await openAction(client, instanceId, 'create');
    await recordEvent(client, { actionId, event: 'build', host, result: 'Error', details: error });
    const resources = { vcpus: row.flavor.vcpus, ramMb: row.flavor.ramMb, diskGb: row.flavor.diskGb };
    for (let i = 0; i < row.alternates.length; i++) {
      const alternate = row.alternates[i]!;
      const alt = await providerIdOf(client, alternate);
      // An alternate disabled, forced down or gone quiet since the decision takes no build.
      if (!alt || !(await computeServiceUsable(client, alternate, deps.config.serviceDownSeconds))) continue;
      const claimed = await claimForInstance(client, { providerId: alt, host: alternate, instanceId, resources, group });
      if (claimed === 'claimed') {
        // Back to 'spawning' on the old host so that dispatchBuild's compare-and-set moves it on.
        await client.query(`UPDATE instances SET task_state = 'spawning' WHERE id = $1`, [instanceId]);
        return { host: alternate, alternates: row.alternates.slice(i + 1), attempt: attempt + 1 };
      }
    }
    return { host: null, attempts: attempt, lastError: `${host}: ${error}` } as const;
  });
  if (!next) return;
  if (next.host === null) {
    const message = `Build failed on ${next.attempts} host${next.attempts === 1 ? '' : 's'}; the last said: ${error}`;
    await failBuild(deps.db, instanceId, message, details ?? next.lastError, host);
    return;
  }
  deps.log.info('build rescheduled', { instanceId, from: host, to: next.host, attempt: next.attempt, error });
  await dispatchBuild(deps.db, deps.jobs, instanceId, {
    host: next.host,
    alternates: next.alternates,
    attempt: next.attempt,
    requestId,
    fromTask: 'spawning',
    secret: deps.config.serviceSecret ?? defaultApiConfig.serviceSecret,
  });
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
        await client.query(`UPDATE instances SET vm_state = 'error', task_state = NULL WHERE id = $1`, [p.instanceId]);
        await recordFault(client, { instanceId: p.instanceId, code: 500, message: `Delete failed: ${p.error ?? 'unknown error'}`, details: p.details ?? null, host: p.host });
        await recordEvent(client, { actionId, event: 'compute_terminate_instance', host: p.host, result: 'Error', details: p.error ?? null, finish: true });
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
      // Nova's wrap_instance_fault + reverts_task_state: the server keeps its state and says what went wrong.
      await client.query(`UPDATE instances SET task_state = NULL, power_state = COALESCE($2, power_state) WHERE id = $1`, [p.instanceId, p.powerState ?? null]);
      await recordFault(client, { instanceId: p.instanceId, code: 500, message: `${o.action} failed: ${p.error ?? 'unknown error'}`, details: p.details ?? null, host: p.host });
      await recordEvent(client, { actionId, event: `compute_${p.action}`, host: p.host, result: 'Error', details: p.error ?? null, finish: true });
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

/** How long the conductor lets reports gather before it takes them, ms: little beside a build's seconds. */
const REPORT_GATHER_MS = 20;

/** The conductor: works the conductor queue and sweeps for builds that hang and hosts that died. */
export async function startConductor(deps: ConductorDeps, options: { concurrency?: number } = {}): Promise<{ stop(): void }> {
  await deps.jobs.ensureQueue(CONDUCTOR_QUEUE, { retryLimit: 5, expireInSeconds: 300 });
  deps.jobs.work(
    CONDUCTOR_QUEUE,
    [
      handler(hostStarted, (p) => onHostStarted(deps, p)),
      handler(
        hostHeartbeat,
        (p) => onHeartbeats(deps, [p]),
        (jobs) => onHeartbeats(deps, jobs.map((j) => j.payload)),
      ),
      handler(hostStopped, async (p) => {
        const { rows } = await deps.db.query<{ id: string }>(`SELECT id FROM services WHERE host = $1 AND binary_name = 'aster-compute'`, [p.host]);
        if (rows[0]) await markStopped(deps.db, [rows[0].id], new Date());
      }),
      handler(powerStates, (p) => applyPowerStates(deps, p.host, p.instances)),
      // Steps taken together are written together, in the order they happened on their host.
      handler(
        buildProgress,
        (p) => onBuildProgress(deps, [p]),
        (jobs) => onBuildProgress(deps, jobs.map((j) => j.payload)),
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
    ],
    // Reports are gathered for a moment before they are taken: under load, builds ending close together are then
    // applied in one transaction instead of each in its own.
    { concurrency: options.concurrency ?? 16, gatherMs: REPORT_GATHER_MS },
  );
  const timer = setInterval(() => {
    void sweep(deps).catch((error: unknown) => deps.log.warn('sweeping stuck builds failed', { error }));
  }, deps.config.sweepSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
