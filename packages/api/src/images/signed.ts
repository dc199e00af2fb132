import { createHmac, timingSafeEqual } from 'node:crypto';
import { AsterError } from '../errors.ts';

/**
 * Short-lived signed URLs for image data (Swift's temp URLs): compute hosts hold no API token, so the API
 * signs the one image path a host needs — read for a build's image, write for a snapshot — with a secret
 * every API process shares. The signature is a hex HMAC-SHA256 over the image id, the operation and the
 * expiry; changing any of them breaks it.
 */
export type ImageOp = 'read' | 'write';

export interface SignedImageQuery {
  imageId: string;
  op: ImageOp;
  /** Unix seconds. */
  expires: number;
  sig: string;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

const HEX = /^[0-9a-f]{64}$/;

function signature(secret: string, imageId: string, op: string, expires: number): string {
  return createHmac('sha256', secret).update(`${imageId.toLowerCase()}\n${op}\n${expires}`).digest('hex');
}

/** `/v1/images/<id>/file?op=…&expires=…&sig=…`, relative to the API's base URL. */
export function signImagePath(secret: string, grant: { imageId: string; op: ImageOp; expiresAt: Date }): string {
  const id = grant.imageId.toLowerCase();
  const expires = Math.floor(grant.expiresAt.getTime() / 1000);
  const query = new URLSearchParams({ op: grant.op, expires: String(expires), sig: signature(secret, id, grant.op, expires) });
  return `/v1/images/${id}/file?${query.toString()}`;
}

/** ok, or why not: a signature that does not match what it signs, or one whose time is up. */
export function verifyImageSignature(secret: string, query: SignedImageQuery, now: Date): SignatureCheck {
  const sig = query.sig.toLowerCase();
  if (!HEX.test(sig) || !Number.isSafeInteger(query.expires)) return { ok: false, reason: 'bad signature' };
  const expected = Buffer.from(signature(secret, query.imageId, query.op, query.expires), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) return { ok: false, reason: 'bad signature' };
  if (now.getTime() >= query.expires * 1000) return { ok: false, reason: `expired at ${new Date(query.expires * 1000).toISOString()}` };
  return { ok: true };
}

/** The signature parameters of an image URL's query, as they arrived; null when none was given. */
export interface SignedParams {
  op: string | null;
  expires: string | null;
  sig: string | null;
}

/**
 * Lets a request through on its signature alone, for `wanted` on image `imageId`; else Forbidden naming the
 * reason (incomplete, bad signature, expired, or signed for the other operation).
 */
export function authorizeSigned(secret: string, imageId: string, wanted: ImageOp, params: SignedParams, now: Date): void {
  const refuse = (reason: string) => new AsterError('Forbidden', `Signed image URL refused: ${reason}`);
  const { op, expires, sig } = params;
  if (op === null || expires === null || sig === null) throw refuse('incomplete (it needs op, expires and sig)');
  if (op !== 'read' && op !== 'write') throw refuse('bad signature');
  const check = verifyImageSignature(secret, { imageId, op, expires: /^\d{1,15}$/.test(expires) ? Number(expires) : NaN, sig }, now);
  if (!check.ok) throw refuse(check.reason);
  if (op !== wanted) throw refuse(`it grants ${op}, not ${wanted}`);
}
