import { randomUUID } from 'node:crypto';
import { actionRules, powerStates as power, type ResourceRequest } from '@aster/compute';
import { computeQueue, resizeInstance, revertResizeInstance, type ParsedOf, type resizeResult } from '@aster/jobs';
import { transaction, type PoolClient } from '@aster/db';
import type { Auth, Context } from '../context.ts';
import { AsterError } from '../errors.ts';
import { flavorForProject } from '../compute/flavors.ts';
import { beginTask, loadInstance, openAction, recordEvent, startAction, type InstanceRow } from '../compute/instances.ts';
import { claimIn, freeAllocations, freeOn, moveAllocations, providerIdOf } from '../compute/placement.ts';
import { enforceQuota } from '../compute/quotas.ts';
import type { ImageRow } from '../images/schema.ts';
import { recordFailure } from '../workers/reports.ts';
import { jobsOf, serverForHostAction } from './actions.ts';
import { checkImageFitsFlavor } from './create.handler.ts';

/**
 * Resize, as Nova does it with allow_resize_to_same_host and nowhere else to go: the server stays on its host.
 * While a resize runs and waits for confirmation (VERIFY_RESIZE) the host holds both flavors: the new one
 * under the instance's id, the old one under the migration's id. Confirm frees the old; revert frees the new
 * and gives the old back. The disk never shrinks: a revert gives back the old vCPUs and memory, but the disk
 * keeps the size it grew to.
 */

type FlavorCopy = InstanceRow['flavor'];

interface MigrationRow {
  id: string;
  instance_id: string;
  old_flavor: FlavorCopy;
  new_flavor: FlavorCopy;
  old_vm_state: 'active' | 'stopped';
  status: 'migrating' | 'finished' | 'reverting' | 'confirmed' | 'reverted' | 'error';
}

const resources = (f: FlavorCopy): ResourceRequest => ({ vcpus: f.vcpus, ramMb: f.ramMb, diskGb: f.diskGb });

/** What the host lacks for the new flavor, in words, without naming the host. */
function noRoom(row: InstanceRow, next: FlavorCopy, free: ResourceRequest): AsterError {
  const lacking = [
    free.vcpus < next.vcpus ? `${free.vcpus} VCPU free (${next.vcpus} needed)` : null,
    free.ramMb < next.ramMb ? `${free.ramMb} MB of memory free (${next.ramMb} MB needed)` : null,
    free.diskGb < next.diskGb ? `${free.diskGb} GB of disk free (${next.diskGb} GB needed)` : null,
  ].filter((s): s is string => s !== null);
  return new AsterError(
    'Conflict',
    `No valid host: server ${row.name} is resized on its own host, which has ${lacking.join(', ') || 'too little room'} ` +
      `while flavor ${row.flavor.name} stays held until the resize is confirmed`,
  );
}

/** The resize of a server that is in progress or waits for an answer, locked. */
async function openMigration(client: PoolClient, instanceId: string, status: MigrationRow['status']): Promise<MigrationRow | null> {
  const { rows } = await client.query<MigrationRow>('SELECT * FROM migrations WHERE instance_id = $1 AND status = $2 FOR UPDATE', [instanceId, status]);
  return rows[0] ?? null;
}

/**
 * servers.resize: a different flavor the project may use, no smaller disk, the quota for what grows, and room
 * on the server's host for the new flavor beside the old. Anything refused changes nothing.
 */
export async function resizeServer(ctx: Context, auth: Auth, id: string, flavorId: string): Promise<InstanceRow> {
  const jobs = jobsOf(ctx);
  const { row, host } = await serverForHostAction(ctx, auth, id, 'resize', 'resize it');
  const flavor = await flavorForProject(ctx.db, flavorId, row.project_id, auth.isAdmin);
  const old = row.flavor;
  if (flavor.id === old.id) throw new AsterError('InvalidInput', `Server ${row.name} already has flavor ${flavor.name}: resize it to another flavor`);
  if (flavor.diskGb < old.diskGb) {
    throw new AsterError(
      'InvalidInput',
      `Flavor ${flavor.name} has a ${flavor.diskGb} GB disk, smaller than the ${old.diskGb} GB disk of server ${row.name} (flavor ${old.name}): disks cannot shrink`,
    );
  }
  const { rows: images } = await ctx.db.query<ImageRow>('SELECT * FROM images WHERE id = $1', [row.image_id]);
  if (images[0]) checkImageFitsFlavor(images[0], flavor);
  const next: FlavorCopy = { id: flavor.id, name: flavor.name, vcpus: flavor.vcpus, ramMb: flavor.ramMb, diskGb: flavor.diskGb, extraSpecs: flavor.extraSpecs };

  return transaction(ctx.db, async (client) => {
    const updated = await beginTask(client, row, 'resize', actionRules.resize);
    const { rows: open } = await client.query<{ status: string }>(
      `SELECT status FROM migrations WHERE instance_id = $1 AND status IN ('migrating', 'finished', 'reverting')`,
      [id],
    );
    // Only when a host never answered a resize (its task timed out): that resize ends when the host reports.
    if (open[0]) throw new AsterError('InvalidState', `Server ${row.name} has a resize its host has not finished (${open[0].status}); try again once it has`);
    await enforceQuota(
      client,
      row.project_id,
      { cores: Math.max(0, next.vcpus - old.vcpus), ramMb: Math.max(0, next.ramMb - old.ramMb) },
      ctx.config.quotaDefaults,
    );
    const providerId = await providerIdOf(client, host);
    if (!providerId) throw new AsterError('Conflict', `No valid host: the host of server ${row.name} is not registered with placement`);
    const migrationId = randomUUID();
    await moveAllocations(client, id, migrationId);
    if (!(await claimIn(client, providerId, id, resources(next)))) throw noRoom(row, next, await freeOn(client, providerId));
    await client.query(
      `INSERT INTO migrations (id, instance_id, source_host, dest_host, old_flavor, new_flavor, old_vm_state, status)
       VALUES ($1, $2, $3, $3, $4, $5, $6, 'migrating')`,
      [migrationId, id, host, JSON.stringify(old), JSON.stringify(next), row.vm_state],
    );
    const actionId = await startAction(client, { instanceId: id, action: 'resize', requestId: ctx.requestId, userId: auth.user.id, projectId: auth.project.id });
    await recordEvent(client, { actionId, event: 'api_resize', result: null });
    await jobs.send(resizeInstance, computeQueue(host), { instanceId: id, migrationId, flavor: next }, { requestId: ctx.requestId, db: client });
    return updated;
  });
}

/** servers.confirmResize: keeps the new flavor and frees the old one's allocation; no host work is needed. */
export async function confirmResize(ctx: Context, auth: Auth, id: string): Promise<InstanceRow> {
  const { row } = await serverForHostAction(ctx, auth, id, 'confirmResize', 'confirm its resize');
  return transaction(ctx.db, async (client) => {
    await beginTask(client, row, 'confirmResize', actionRules.confirmResize);
    const migration = await openMigration(client, id, 'finished');
    if (!migration) throw new AsterError('InvalidState', `Server ${row.name} has no resize waiting for confirmation`);
    await freeAllocations(client, migration.id);
    await client.query(`UPDATE migrations SET status = 'confirmed', updated_at = clock_timestamp() WHERE id = $1`, [migration.id]);
    // As Nova: the server comes back as its power state says (stopped if it is shut down).
    const { rows } = await client.query<InstanceRow>(
      `UPDATE instances SET vm_state = CASE WHEN power_state = ${power.SHUTDOWN} THEN 'stopped' ELSE 'active' END, task_state = NULL
        WHERE id = $1 RETURNING *`,
      [id],
    );
    const actionId = await startAction(client, { instanceId: id, action: 'confirmResize', requestId: ctx.requestId, userId: auth.user.id, projectId: auth.project.id });
    await recordEvent(client, { actionId, event: 'api_confirmResize', result: 'Success', finish: true });
    return rows[0]!;
  });
}

/** servers.revertResize: the host gives the server its old flavor back (its disk stays grown). */
export async function revertResize(ctx: Context, auth: Auth, id: string): Promise<InstanceRow> {
  const jobs = jobsOf(ctx);
  const { row, host } = await serverForHostAction(ctx, auth, id, 'revertResize', 'revert its resize');
  return transaction(ctx.db, async (client) => {
    const updated = await beginTask(client, row, 'revertResize', actionRules.revertResize);
    const migration = await openMigration(client, id, 'finished');
    if (!migration) throw new AsterError('InvalidState', `Server ${row.name} has no resize waiting for confirmation`);
    await client.query(`UPDATE migrations SET status = 'reverting', updated_at = clock_timestamp() WHERE id = $1`, [migration.id]);
    const actionId = await startAction(client, { instanceId: id, action: 'revertResize', requestId: ctx.requestId, userId: auth.user.id, projectId: auth.project.id });
    await recordEvent(client, { actionId, event: 'api_revertResize', result: null });
    await jobs.send(
      revertResizeInstance,
      computeQueue(host),
      { instanceId: id, migrationId: migration.id, flavor: migration.old_flavor },
      { requestId: ctx.requestId, db: client },
    );
    return updated;
  });
}

/**
 * The conductor's half: applies a host's report of a resize or of its revert, once (a report whose migration
 * has moved on changes nothing). A failed resize puts everything back as it was, with a fault; a failed revert
 * leaves the server in VERIFY_RESIZE, to be reverted again or confirmed.
 */
export async function applyResizeResult(client: PoolClient, p: ParsedOf<typeof resizeResult>): Promise<void> {
  const row = await loadInstance(client, p.instanceId, { forUpdate: true });
  // A server being deleted is left to its delete, which frees what both flavors held.
  if (!row || row.deleted_at || row.host !== p.host || row.task_state === 'deleting') return;
  const { rows } = await client.query<MigrationRow>('SELECT * FROM migrations WHERE id = $1 AND instance_id = $2 FOR UPDATE', [p.migrationId, p.instanceId]);
  const migration = rows[0];
  if (!migration || migration.status !== (p.revert ? 'reverting' : 'migrating')) return;
  const action = p.revert ? 'revertResize' : 'resize';
  const actionId = await openAction(client, p.instanceId, action);
  const setMigration = (status: MigrationRow['status'], error: string | null) =>
    client.query('UPDATE migrations SET status = $2, error = $3, updated_at = clock_timestamp() WHERE id = $1', [migration.id, status, error]);
  const powerState = p.powerState ?? null;

  if (p.ok) {
    // Forward: the new flavor is the server's now; back: the old one is, and the new one's claim goes.
    const flavor = p.revert ? migration.old_flavor : migration.new_flavor;
    if (p.revert) {
      await freeAllocations(client, p.instanceId);
      await moveAllocations(client, migration.id, p.instanceId);
    }
    await client.query(
      `UPDATE instances SET task_state = NULL, power_state = COALESCE($2, power_state), flavor = $3, flavor_id = $4,
              vm_state = CASE WHEN $5 THEN 'resized' WHEN COALESCE($2, power_state) = ${power.SHUTDOWN} THEN 'stopped' ELSE 'active' END
        WHERE id = $1`,
      [p.instanceId, powerState, JSON.stringify(flavor), flavor.id, !p.revert],
    );
    await setMigration(p.revert ? 'reverted' : 'finished', null);
    await recordEvent(client, { actionId, event: p.revert ? 'compute_revert_resize' : 'compute_resize', host: p.host, result: 'Success', finish: true });
    return;
  }
  const error = p.error ?? 'unknown error';
  if (!p.revert) {
    await freeAllocations(client, p.instanceId);
    await moveAllocations(client, migration.id, p.instanceId);
  }
  await setMigration(p.revert ? 'finished' : 'error', error);
  await recordFailure(client, {
    instanceId: p.instanceId,
    host: p.host,
    actionId,
    event: p.revert ? 'compute_revert_resize' : 'compute_resize',
    message: p.revert ? `Reverting the resize to ${migration.old_flavor.name} failed: ${error}` : `Resize to ${migration.new_flavor.name} failed: ${error}`,
    error,
    details: p.details ?? null,
    powerState,
  });
}
