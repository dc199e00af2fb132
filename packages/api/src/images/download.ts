import type { Readable } from 'node:stream';
import type { Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';
import { findSignedImage, findVisibleImage, type ImageAccess } from './access.ts';
import { toImage, type Image } from './schema.ts';
import type { ByteRange, ImageStore } from './store.ts';

export interface ImageDownload {
  image: Image;
  sizeBytes: number;
  sha256: string;
  /** Streams the data, or one range of it; opened only when called. */
  open(range?: ByteRange): Readable;
}

/** An active image the caller may see (or a signed URL names for reading), ready to stream. */
export async function openImageDownload(deps: { db: Queryable; store: ImageStore }, request: { id: string } & ImageAccess): Promise<ImageDownload> {
  const row = 'auth' in request ? await findVisibleImage(deps.db, request.auth, request.id) : await findSignedImage(deps.db, request.id, 'read', request);
  if (row.status !== 'active' || row.size_bytes === null || row.checksum_sha256 === null) {
    throw new AsterError('Conflict', `Image ${row.name} (${row.id}) is ${row.status}: its data can be downloaded once it is active`);
  }
  if (!(await deps.store.exists(row.id))) {
    throw new AsterError('InvalidState', `Image ${row.name} (${row.id}) is active but its data is missing from the image store`);
  }
  const store = deps.store;
  return {
    image: toImage(row),
    sizeBytes: Number(row.size_bytes),
    sha256: row.checksum_sha256,
    open: (range) => store.read(row.id, range),
  };
}

/**
 * A single `Range: bytes=a-b` (also `a-` and the suffix form `-n`) against a body of `size` bytes.
 * null: no usable range, send it all (a malformed or multi-range header is ignored, as HTTP allows);
 * 'unsatisfiable': the range lies outside the body (416).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return null;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}
