import type { Readable } from 'node:stream';
import type { Pool } from '@aster/db';
import type { Logger } from '@aster/log';
import { AsterError } from '../errors.ts';
import { findOwnedImage, findSignedImage, requireRole, type ImageAccess } from './access.ts';
import { formatProblem, HeadCollector, inspectImage } from './format.ts';
import { toImage, type DiskFormat, type Image, type ImageRow } from './schema.ts';
import type { ImageStore, WriteResult } from './store.ts';

export interface ImageDeps {
  db: Pool;
  store: ImageStore;
  log: Logger;
  now: () => Date;
}

export type UploadRequest = UploadBody & ImageAccess;

interface UploadBody {
  id: string;
  /** The image data, streamed: never held whole in memory. */
  body: Readable;
  /** The SHA-256 the uploader computed (hex), checked against what arrives. */
  expectedSha256?: string | null;
  /** The declared length when known (Content-Length), to refuse an empty upload before starting. */
  declaredLength?: number | null;
  /**
   * With a signed write only: the format of the data, which a host knows only once its snapshot is taken
   * (qcow2 or raw); it replaces the format the image was created with.
   */
  diskFormat?: Exclude<DiskFormat, 'iso'> | null;
}

/** A snapshot being taken gets its data from the server's host only (a signed write), not from its owner. */
function refuseSnapshotInProgress(row: ImageRow): void {
  const server = row.properties.instance_uuid;
  if (row.properties.image_type === 'snapshot' && server && row.status === 'queued') {
    throw new AsterError('Conflict', `Image ${row.name} (${row.id}) is a snapshot of server ${server} being taken: its data comes from the server's host`);
  }
}

const SHA256 = /^[0-9a-f]{64}$/;
const EMPTY = 'The upload is empty: send the image data as the request body';
// How a broken-off request body shows itself (IncomingMessage aborts, a reset socket, a pipe closed early).
const INTERRUPTED = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);
const interrupted = (error: unknown) =>
  error instanceof Error && (INTERRUPTED.has((error as NodeJS.ErrnoException).code ?? '') || error.message === 'aborted');

/**
 * Stores an image's data: only into a queued image, by its owner (or the bearer of a URL signed for writing
 * it), one upload at a time (queued → saving is a compare-and-set). The bytes are hashed, counted and
 * inspected as they stream to the store; data that is not of the declared disk format, or not what
 * x-image-sha256 says, leaves the image killed with a fault and no bytes. Resolves with the active image.
 */
export async function uploadImage(deps: ImageDeps, request: UploadRequest): Promise<Image> {
  const { db, store, log } = deps;
  const { id } = request;
  if ('auth' in request) requireRole(request.auth, 'member', 'Uploading image data');
  const expected = request.expectedSha256?.trim().toLowerCase() || null;
  if (expected !== null && !SHA256.test(expected)) {
    throw new AsterError('InvalidInput', 'x-image-sha256: must be a SHA-256 digest as 64 hexadecimal digits');
  }
  if (request.declaredLength === 0) throw new AsterError('InvalidInput', EMPTY);
  let image: ImageRow;
  if ('auth' in request) {
    image = await findOwnedImage(db, request.auth, id, 'upload data to');
    refuseSnapshotInProgress(image);
  } else {
    image = await findSignedImage(db, id, 'write', request);
  }
  const format = 'auth' in request ? null : request.diskFormat ?? null;
  const claimed = await db.query<ImageRow>(
    `UPDATE images SET status = 'saving', fault = NULL, updated_at = $2, disk_format = COALESCE($3, disk_format)
      WHERE id = $1 AND status = 'queued' RETURNING *`,
    [image.id, deps.now(), format],
  );
  const row = claimed.rows[0];
  if (!row) {
    const { rows } = await db.query<{ status: string }>('SELECT status FROM images WHERE id = $1', [image.id]);
    const status = rows[0]?.status ?? 'deleted';
    const why = status === 'saving' ? ' (another upload is in progress)' : '';
    throw new AsterError('Conflict', `Image ${image.name} (${image.id}) is ${status}${why}: data can be uploaded only while it is queued`);
  }

  const started = performance.now();
  const head = new HeadCollector();
  let received = 0;
  const finish = async (status: 'killed' | 'queued', fault: string | null) => {
    await db.query(`UPDATE images SET status = $2, fault = $3, updated_at = $4 WHERE id = $1 AND status = 'saving'`, [row.id, status, fault, deps.now()]);
  };
  const report = (fields: Record<string, unknown>) => ({ image: row.id, bytes: received, ms: Math.round(performance.now() - started), ...fields });

  let written: WriteResult;
  try {
    written = await store.write(row.id, request.body, (chunk) => {
      received += chunk.length;
      head.push(chunk);
    });
  } catch (error) {
    const fault = interrupted(error)
      ? `upload interrupted after ${received} bytes`
      : `upload failed after ${received} bytes: ${error instanceof Error ? error.message : String(error)}`;
    await finish('killed', fault);
    log.warn('image upload failed', report({ fault }));
    if (interrupted(error)) throw new AsterError('InvalidInput', `Image ${row.id}: ${fault}`, { cause: error });
    throw error;
  }

  if (written.sizeBytes === 0) {
    // Nothing arrived: the image may take another upload.
    await store.remove(row.id);
    await finish('queued', null);
    throw new AsterError('InvalidInput', EMPTY);
  }
  const found = inspectImage(head.head(), written.sizeBytes);
  let fault = formatProblem(row.disk_format, found);
  if (!fault && expected && expected !== written.sha256) {
    fault = `Checksum mismatch: x-image-sha256 is ${expected}, but the data received has SHA-256 ${written.sha256}`;
  }
  if (fault) {
    await store.remove(row.id);
    await finish('killed', fault);
    log.warn('image upload refused', report({ fault }));
    throw new AsterError('InvalidInput', fault);
  }

  const { rows } = await db.query<ImageRow>(
    `UPDATE images SET status = 'active', size_bytes = $2, virtual_size = $3, checksum_sha256 = $4, fault = NULL, updated_at = $5
      WHERE id = $1 AND status = 'saving' RETURNING *`,
    [row.id, written.sizeBytes, found.virtualSize, written.sha256, deps.now()],
  );
  if (!rows[0]) {
    await store.remove(row.id);
    throw new AsterError('Conflict', `Image ${row.id} was deleted while its data was uploading`);
  }
  log.info('image uploaded', report({ sizeBytes: written.sizeBytes, virtualSize: found.virtualSize, format: found.format }));
  return toImage(rows[0]);
}
