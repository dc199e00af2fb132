import { actionRules, powerStates as power } from '@aster/compute';
import { computeQueue, rescueInstance, unrescueInstance, type ParsedOf, type rescueResult } from '@aster/jobs';
import { transaction, type PoolClient } from '@aster/db';
import type { Auth, Context } from '../context.ts';
import { beginTask, loadInstance, openAction, recordEvent, startAction, type InstanceRow } from '../compute/instances.ts';
import { portsOf } from '../compute/ipam.ts';
import { instanceSpecFor } from '../workers/instance-spec.ts';
import { recordFailure } from '../workers/reports.ts';
import { jobsOf, serverForHostAction } from './actions.ts';
import { bootableImage } from './create.handler.ts';

/**
 * servers.rescue (Nova's rescue): the host boots the server from a fresh disk of the rescue image, with the
 * server's own disk attached as the second disk, same addresses and config drive, so its owner can repair
 * it. The rescue image is `imageId` (one the caller may boot, active) or the server's own image.
 */
export async function rescueServer(ctx: Context, auth: Auth, input: { id: string; imageId?: string | undefined }): Promise<InstanceRow> {
  const jobs = jobsOf(ctx);
  const { row, host } = await serverForHostAction(ctx, auth, input.id, 'rescue', 'rescue it');
  const image = input.imageId === undefined ? { id: row.image_id, name: row.image.name } : await bootableImage(ctx, auth, input.imageId);
  return transaction(ctx.db, async (client) => {
    const updated = await beginTask(client, row, 'rescue', actionRules.rescue);
    const ports = (await portsOf(client, [row.id])).get(row.id) ?? [];
    const instance = await instanceSpecFor(client, updated, ports, { image: { id: image.id, name: image.name }, secret: ctx.config.serviceSecret, now: ctx.now() });
    const actionId = await startAction(client, { instanceId: row.id, action: 'rescue', requestId: ctx.requestId, userId: auth.user.id, projectId: auth.project.id });
    await recordEvent(client, { actionId, event: 'api_rescue', result: null });
    await jobs.send(rescueInstance, computeQueue(host), { instance }, { requestId: ctx.requestId, db: client });
    return updated;
  });
}

/** servers.unrescue: the host boots the server's own disk again and deletes the rescue disk. */
export async function unrescueServer(ctx: Context, auth: Auth, id: string): Promise<InstanceRow> {
  const jobs = jobsOf(ctx);
  const { row, host } = await serverForHostAction(ctx, auth, id, 'unrescue', 'unrescue it');
  return transaction(ctx.db, async (client) => {
    const updated = await beginTask(client, row, 'unrescue', actionRules.unrescue);
    const actionId = await startAction(client, { instanceId: row.id, action: 'unrescue', requestId: ctx.requestId, userId: auth.user.id, projectId: auth.project.id });
    await recordEvent(client, { actionId, event: 'api_unrescue', result: null });
    await jobs.send(unrescueInstance, computeQueue(host), { instanceId: row.id }, { requestId: ctx.requestId, db: client });
    return updated;
  });
}

/**
 * The conductor's half: a rescued server is RESCUE and running, an unrescued one ACTIVE and running. A failure
 * leaves the server in the state it had (a failed unrescue stays RESCUE) with a fault. Applied once: a report
 * for a server no longer at that task changes nothing.
 */
export async function applyRescueResult(client: PoolClient, p: ParsedOf<typeof rescueResult>): Promise<void> {
  const action = p.unrescue ? 'unrescue' : 'rescue';
  const row = await loadInstance(client, p.instanceId, { forUpdate: true });
  if (!row || row.deleted_at || row.host !== p.host || row.task_state !== (p.unrescue ? 'unrescuing' : 'rescuing')) return;
  const actionId = await openAction(client, p.instanceId, action);
  if (p.ok) {
    await client.query(`UPDATE instances SET vm_state = $2, task_state = NULL, power_state = $3 WHERE id = $1`, [
      p.instanceId,
      p.unrescue ? 'active' : 'rescued',
      p.powerState ?? power.RUNNING,
    ]);
    await recordEvent(client, { actionId, event: `compute_${action}`, host: p.host, result: 'Success', finish: true });
    return;
  }
  const error = p.error ?? 'unknown error';
  await recordFailure(client, {
    instanceId: p.instanceId,
    host: p.host,
    actionId,
    event: `compute_${action}`,
    message: p.unrescue ? `Unrescue failed: ${error}` : `Rescue from image ${p.image?.name ?? row.image.name} failed: ${error}`,
    error,
    details: p.details ?? null,
    powerState: p.powerState,
  });
}
