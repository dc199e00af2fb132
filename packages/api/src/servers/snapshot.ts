import { actionRules } from '@aster/compute';
import { computeQueue, snapshotInstance, type ParsedOf, type snapshotResult } from '@aster/jobs';
import { transaction, type PoolClient } from '@aster/db';
import type { Auth, Context } from '../context.ts';
import { AsterError } from '../errors.ts';
import { beginTask, loadInstance, openAction, recordEvent, startAction } from '../compute/instances.ts';
import { MAX_PROPERTIES } from '../images/schema.ts';
import { signImagePath } from '../images/signed.ts';
import { recordFailure } from '../workers/reports.ts';
import { jobsOf, serverForHostAction } from './actions.ts';

/** How long a host may take to start uploading a snapshot it was asked for (the job may wait in its queue). */
export const SNAPSHOT_UPLOAD_TTL_SECONDS = 6 * 3600;

const SNAPSHOT_TASKS = ['image_snapshot', 'image_pending_upload', 'image_uploading'];

/**
 * servers.createImage (Nova's snapshot): the image exists at once — private to the server's project, queued
 * for its data, marked as a snapshot of the server — and the host snapshots the disk and uploads it through a
 * URL signed for writing that one image. A lock does not stop a snapshot, as in Nova.
 */
export async function createServerImage(
  ctx: Context,
  auth: Auth,
  input: { id: string; name: string; metadata?: Record<string, string> | undefined },
): Promise<{ imageId: string }> {
  const jobs = jobsOf(ctx);
  const { row, host } = await serverForHostAction(ctx, auth, input.id, 'createImage', null);
  const properties = { ...input.metadata, image_type: 'snapshot', instance_uuid: row.id, base_image_ref: row.image_id };
  if (Object.keys(properties).length > MAX_PROPERTIES) {
    throw new AsterError('InvalidInput', `Invalid input: metadata: at most ${MAX_PROPERTIES - 3} items (a snapshot adds image_type, instance_uuid and base_image_ref)`);
  }
  return transaction(ctx.db, async (client) => {
    await beginTask(client, row, 'createImage', actionRules.createImage);
    const now = ctx.now();
    // The minimums of the image the server was built from carry over, as Nova's snapshots do; the minimum disk
    // is at least the server's own (its flavor's, which a resize may have grown), the size the snapshot has.
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO images (name, project_id, visibility, status, disk_format, min_ram_mb, min_disk_gb, properties, created_at, updated_at)
       SELECT $1, $2, 'private', 'queued', 'qcow2', COALESCE(b.min_ram_mb, 0), GREATEST(COALESCE(b.min_disk_gb, 0), $6), $4, $5, $5
         FROM (SELECT 1) one LEFT JOIN images b ON b.id = $3
       RETURNING id`,
      [input.name, row.project_id, row.image_id, JSON.stringify(properties), now, row.flavor.diskGb],
    );
    const imageId = rows[0]!.id;
    const actionId = await startAction(client, { instanceId: row.id, action: 'createImage', requestId: ctx.requestId, userId: auth.user.id, projectId: auth.project.id });
    await recordEvent(client, { actionId, event: 'api_createImage', result: null });
    const uploadPath = signImagePath(ctx.config.serviceSecret, {
      imageId,
      op: 'write',
      expiresAt: new Date(now.getTime() + SNAPSHOT_UPLOAD_TTL_SECONDS * 1000),
    });
    await jobs.send(snapshotInstance, computeQueue(host), { instanceId: row.id, imageId, uploadPath }, { requestId: ctx.requestId, db: client });
    return { imageId };
  });
}

/**
 * The conductor's half: the server is idle again whatever happened (a failed snapshot does not put it in
 * ERROR, as in Nova); an image the host could not fill is killed with the reason.
 */
export async function applySnapshotResult(client: PoolClient, p: ParsedOf<typeof snapshotResult>): Promise<void> {
  const { rows } = await client.query<{ status: string }>('SELECT status FROM images WHERE id = $1 FOR UPDATE', [p.imageId]);
  const status = rows[0]?.status ?? null;
  let error = p.ok ? null : p.error ?? 'unknown error';
  // The upload makes the image active; a host that says it is done while the image is not has failed.
  if (p.ok && status !== null && status !== 'active') error = `the upload did not complete (the image is ${status})`;
  if (error !== null) {
    await client.query(`UPDATE images SET status = 'killed', fault = $2, updated_at = clock_timestamp() WHERE id = $1 AND status IN ('queued', 'saving')`, [
      p.imageId,
      `Snapshot failed: ${error}`,
    ]);
  }
  const row = await loadInstance(client, p.instanceId, { forUpdate: true });
  if (!row || row.deleted_at || row.host !== p.host || !row.task_state || !SNAPSHOT_TASKS.includes(row.task_state)) return;
  const actionId = await openAction(client, p.instanceId, 'createImage');
  if (error === null) {
    await client.query('UPDATE instances SET task_state = NULL WHERE id = $1', [p.instanceId]);
    await recordEvent(client, { actionId, event: 'compute_snapshot', host: p.host, result: 'Success', finish: true });
    return;
  }
  await recordFailure(client, {
    instanceId: p.instanceId,
    host: p.host,
    actionId,
    event: 'compute_snapshot',
    message: `Snapshot failed: ${error}`,
    error,
    details: p.details ?? null,
  });
}
