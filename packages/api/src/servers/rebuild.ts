import { actionRules, powerStates as power } from '@aster/compute';
import { computeQueue, rebuildInstance, type ParsedOf, type rebuildResult } from '@aster/jobs';
import { transaction, type PoolClient } from '@aster/db';
import type { Auth, Context } from '../context.ts';
import { beginTask, loadInstance, openAction, recordEvent, startAction, type InstanceRow } from '../compute/instances.ts';
import { portsOf } from '../compute/ipam.ts';
import { instanceSpecFor } from '../workers/instance-spec.ts';
import { recordFailure } from '../workers/reports.ts';
import { jobsOf, serverForHostAction } from './actions.ts';
import { bootableImage, checkImageFitsFlavor } from './create.handler.ts';

/**
 * servers.rebuild: a new root disk from another (or the same) image, on the same host, keeping the server's
 * ports and addresses, key and user data (Nova's rebuild). The image must be one the caller may boot that
 * fits the server's flavor, as at create. The server records the new image once the host has rebuilt it.
 */
export async function rebuildServer(ctx: Context, auth: Auth, input: { id: string; imageId: string; name?: string | undefined }): Promise<InstanceRow> {
  const jobs = jobsOf(ctx);
  const { row, host } = await serverForHostAction(ctx, auth, input.id, 'rebuild', 'rebuild it');
  const image = await bootableImage(ctx, auth, input.imageId);
  checkImageFitsFlavor(image, row.flavor);
  return transaction(ctx.db, async (client) => {
    let updated = await beginTask(client, row, 'rebuild', actionRules.rebuild);
    if (input.name !== undefined && input.name !== row.name) {
      updated = (await client.query<InstanceRow>('UPDATE instances SET name = $2 WHERE id = $1 RETURNING *', [row.id, input.name])).rows[0]!;
    }
    const ports = (await portsOf(client, [row.id])).get(row.id) ?? [];
    const instance = await instanceSpecFor(client, updated, ports, {
      image: { id: image.id, name: image.name },
      secret: ctx.config.serviceSecret,
      now: ctx.now(),
    });
    const actionId = await startAction(client, { instanceId: row.id, action: 'rebuild', requestId: ctx.requestId, userId: auth.user.id, projectId: auth.project.id });
    await recordEvent(client, { actionId, event: 'api_rebuild', result: null });
    await jobs.send(rebuildInstance, computeQueue(host), { instance }, { requestId: ctx.requestId, db: client });
    return updated;
  });
}

/**
 * The conductor's half: a rebuilt server runs again (or stays shut down, if the host kept it so) with its new
 * image; one that failed goes to ERROR with a fault, from where it may be rebuilt again. Applied once: a
 * report for a server no longer rebuilding changes nothing.
 */
export async function applyRebuildResult(client: PoolClient, p: ParsedOf<typeof rebuildResult>): Promise<void> {
  const row = await loadInstance(client, p.instanceId, { forUpdate: true });
  if (!row || row.deleted_at || row.host !== p.host) return;
  if (row.task_state !== 'rebuilding' && row.task_state !== 'rebuild_spawning') return;
  const actionId = await openAction(client, p.instanceId, 'rebuild');
  if (p.ok) {
    const powerState = p.powerState ?? power.RUNNING;
    await client.query(
      `UPDATE instances SET vm_state = CASE WHEN $2::smallint = ${power.SHUTDOWN} THEN 'stopped' ELSE 'active' END, task_state = NULL,
              power_state = $2, image_id = $3, image = $4, launched_at = clock_timestamp()
        WHERE id = $1`,
      [p.instanceId, powerState, p.image.id, JSON.stringify({ id: p.image.id, name: p.image.name })],
    );
    await recordEvent(client, { actionId, event: 'compute_rebuild', host: p.host, result: 'Success', finish: true });
    return;
  }
  const error = p.error ?? 'unknown error';
  await recordFailure(client, {
    instanceId: p.instanceId,
    host: p.host,
    actionId,
    event: 'compute_rebuild',
    message: `Rebuild from image ${p.image.name} failed: ${error}`,
    error,
    details: p.details ?? null,
    powerState: p.powerState,
    vmState: 'error',
  });
}
