import type { Queryable } from '@aster/db';
import { bearerToken, type Auth } from '../context.ts';
import { AsterError } from '../errors.ts';
import { isUuid } from '../identity/lookup.ts';
import { resolveToken } from '../identity/tokens.ts';
import { refusal } from '../policy.ts';
import type { Role } from '../roles.ts';
import type { ImageRow } from './schema.ts';
import { authorizeSigned, type ImageOp, type SignedParams } from './signed.ts';

/** Who asks for image data: a signed-in caller, or the bearer of a signed URL (a compute host). */
export type ImageAccess = { auth: Auth } | { signed: SignedParams; secret: string; now: Date };

/**
 * Resolves an `Authorization: Bearer <token>` header to who is calling, as the tRPC policy middleware does,
 * for endpoints outside tRPC. Throws AsterError Unauthorized when the token is missing, unknown or expired.
 */
export async function authenticate(db: Queryable, authorization: string | string[] | undefined | null, now: Date): Promise<Auth> {
  const token = bearerToken(authorization);
  if (!token) throw new AsterError('Unauthorized', 'Sign in first: send Authorization: Bearer <token>');
  return resolveToken(db, token, now);
}

/** Throws Forbidden unless `auth` holds at least `role` on its project (or is a cloud administrator). */
export function requireRole(auth: Auth, role: Role, what: string): void {
  const need = refusal(role, auth);
  if (need) throw new AsterError('Forbidden', `${what} needs ${need}; you hold ${auth.roles.join(', ')} on project ${auth.project.name}`);
}

/** SQL condition: image `i` is visible to the project in parameter `p` (own, public, or shared with it). */
export const visibleTo = (p: string) =>
  `(i.project_id = ${p} OR i.visibility = 'public'
    OR (i.visibility = 'shared' AND EXISTS (SELECT 1 FROM image_members m WHERE m.image_id = i.id AND m.project_id = ${p})))`;

export const imageNotFound = (id: string) => new AsterError('NotFound', `Image ${id} not found`);

/**
 * The image if the caller may see it; cloud administrators see every image. Anything else answers
 * NotFound, so that another project's private image is indistinguishable from a missing one.
 */
export async function findVisibleImage(db: Queryable, auth: Auth, id: string): Promise<ImageRow> {
  if (!isUuid(id)) throw imageNotFound(id);
  const { rows } = await db.query<ImageRow>(
    `SELECT i.* FROM images i WHERE i.id = $1 AND ($2 OR ${visibleTo('$3')})`,
    [id, auth.isAdmin, auth.project.id],
  );
  if (!rows[0]) throw imageNotFound(id);
  return rows[0];
}

/** Only the owning project (or a cloud administrator) changes an image that others may merely see. */
export function requireOwner(auth: Auth, row: ImageRow, action: string): void {
  if (auth.isAdmin || row.project_id === auth.project.id) return;
  throw new AsterError('Forbidden', `Image ${row.name} (${row.id}) belongs to another project: only its owner may ${action} it`);
}

/** Visible and owned, in one step: what every change to an image starts with. */
export async function findOwnedImage(db: Queryable, auth: Auth, id: string, action: string): Promise<ImageRow> {
  const row = await findVisibleImage(db, auth, id);
  requireOwner(auth, row, action);
  return row;
}

/**
 * The image a signed URL names, for `op`: the signature is the permission (the API signed it for this image
 * and operation), so neither token nor visibility is asked. Forbidden when the signature does not hold.
 */
export async function findSignedImage(db: Queryable, id: string, op: ImageOp, access: { signed: SignedParams; secret: string; now: Date }): Promise<ImageRow> {
  authorizeSigned(access.secret, id, op, access.signed, access.now);
  if (!isUuid(id)) throw imageNotFound(id);
  const { rows } = await db.query<ImageRow>('SELECT * FROM images WHERE id = $1', [id]);
  if (!rows[0]) throw imageNotFound(id);
  return rows[0];
}
