import { powerStates as power } from '@aster/compute';
import { computeQueue, terminateInstance, type hostHeartbeat, type hostStarted, type hostStopped, type Jobs, type ParsedOf } from '@aster/jobs';
import { transaction, type Pool } from '@aster/db';
import type { Logger } from '@aster/log';
import { recordFault } from '../compute/instances.ts';
import { upsertProvider, type Ratios } from '../compute/placement.ts';
import { markStopped, registerService } from '../services/registry.ts';

/**
 * What compute hosts report about themselves, as the conductor applies it: a host registering (its service,
 * placement provider and capabilities, and what it still runs), its heartbeats, its stop, and the power state of
 * its guests (Nova's power-state sync).
 */

export interface HostReportDeps {
  db: Pool;
  jobs: Jobs;
  log: Logger;
  config: { ratios: Ratios };
}

export async function onHostStarted(deps: HostReportDeps, p: ParsedOf<typeof hostStarted>): Promise<void> {
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
export async function applyPowerStates(deps: HostReportDeps, host: string, reported: { id: string; powerState: number; vanished?: boolean | undefined }[]): Promise<void> {
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
async function markVanished(deps: HostReportDeps, host: string, ids: string[]): Promise<void> {
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

/** A host that stopped cleanly: its service says so at once, rather than when its heartbeats are missed. */
export async function onHostStopped(deps: HostReportDeps, p: ParsedOf<typeof hostStopped>): Promise<void> {
  const { rows } = await deps.db.query<{ id: string }>(`SELECT id FROM services WHERE host = $1 AND binary_name = 'aster-compute'`, [p.host]);
  if (rows[0]) await markStopped(deps.db, [rows[0].id], new Date());
}

/** Heartbeats of many hosts in one statement: each host's service seen now, and its running guests counted. */
export async function onHeartbeats(deps: HostReportDeps, beats: ParsedOf<typeof hostHeartbeat>[]): Promise<void> {
  // The last beat of each host counts.
  const last = new Map(beats.map((b) => [b.host, b.runningVms]));
  await deps.db.query(
    `WITH b AS (SELECT * FROM unnest($1::text[], $2::int[]) AS b(host, running)),
          s AS (UPDATE services s SET last_seen_at = $3, stopped_at = NULL FROM b WHERE s.host = b.host AND s.binary_name = 'aster-compute')
     UPDATE compute_nodes cn SET running_vms = b.running, updated_at = now() FROM b WHERE cn.host = b.host`,
    [[...last.keys()], [...last.values()], new Date()],
  );
}
