import type { Queryable } from '@aster/db';
import type { Auth } from '../context.ts';
import { AsterError } from '../errors.ts';
import { impliedBy, satisfies, type Role } from '../roles.ts';
import { generateSecret, hashSecret } from './secrets.ts';

export const TOKEN_PREFIX = 'ast_';

export interface IssuedToken {
  token: string;
  id: string;
  expiresAt: Date;
}

export async function issueToken(
  db: Queryable,
  input: { userId: string; projectId: string; credentialId?: string | null; now: Date; expiresAt: Date },
): Promise<IssuedToken> {
  const token = generateSecret(TOKEN_PREFIX);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO tokens (token_hash, user_id, project_id, app_credential_id, issued_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [hashSecret(token), input.userId, input.projectId, input.credentialId ?? null, input.now, input.expiresAt],
  );
  return { token, id: rows[0]!.id, expiresAt: input.expiresAt };
}

interface TokenRow {
  id: string;
  expires_at: Date;
  revoked_at: Date | null;
  user_id: string;
  user_name: string;
  user_enabled: boolean;
  project_id: string;
  project_name: string;
  project_is_admin: boolean;
  credential_id: string | null;
  credential_name: string | null;
  credential_role: Role | null;
  credential_revoked_at: Date | null;
  credential_expires_at: Date | null;
  /** The roles the user holds on the project, highest first. */
  roles: Role[];
}

const unauthorized = (message: string) => new AsterError('Unauthorized', message);

/**
 * Resolves a bearer token to who is calling. Roles are read at each call, so a revoked role or a
 * disabled user takes effect at once, not when the token expires.
 */
export async function resolveToken(db: Queryable, token: string, now: Date): Promise<Auth> {
  const { rows } = await db.query<TokenRow>(
    `SELECT t.id, t.expires_at, t.revoked_at,
            u.id AS user_id, u.name AS user_name, u.enabled AS user_enabled,
            p.id AS project_id, p.name AS project_name, p.is_admin AS project_is_admin,
            c.id AS credential_id, c.name AS credential_name, c.role AS credential_role,
            c.revoked_at AS credential_revoked_at, c.expires_at AS credential_expires_at,
            ARRAY(SELECT ra.role FROM role_assignments ra WHERE ra.user_id = t.user_id AND ra.project_id = t.project_id
                   ORDER BY array_position(ARRAY['admin','member','reader'], ra.role)) AS roles
       FROM tokens t
       JOIN users u ON u.id = t.user_id
       JOIN projects p ON p.id = t.project_id
       LEFT JOIN app_credentials c ON c.id = t.app_credential_id
      WHERE t.token_hash = $1`,
    [hashSecret(token)],
  );
  const row = rows[0];
  if (!row) throw unauthorized('Invalid token: sign in again');
  if (row.revoked_at) throw unauthorized('Token revoked: sign in again');
  if (row.expires_at.getTime() <= now.getTime()) throw unauthorized('Token expired: sign in again');
  if (!row.user_enabled) throw unauthorized(`User ${row.user_name} is disabled`);
  if (row.credential_revoked_at) throw unauthorized(`Application credential ${row.credential_name} was revoked`);
  if (row.credential_expires_at && row.credential_expires_at.getTime() <= now.getTime()) {
    throw unauthorized(`Application credential ${row.credential_name} expired`);
  }

  // Read with the token, in the same statement.
  const held = row.roles;
  let effective: Role[] = held;
  if (row.credential_role) {
    // A credential carries at most its own role, and only while its user still holds it.
    effective = satisfies(held, row.credential_role) ? impliedBy(row.credential_role) : [];
  }
  if (effective.length === 0) {
    throw unauthorized(`User ${row.user_name} no longer has a role on project ${row.project_name}`);
  }
  return {
    tokenId: row.id,
    user: { id: row.user_id, name: row.user_name },
    project: { id: row.project_id, name: row.project_name },
    roles: effective,
    isAdmin: row.project_is_admin && effective.includes('admin'),
    expiresAt: row.expires_at,
    credential: row.credential_id ? { id: row.credential_id, name: row.credential_name ?? '' } : null,
  };
}

/** The roles a user holds on a project, highest first. */
export async function rolesOn(db: Queryable, userId: string, projectId: string): Promise<Role[]> {
  const { rows } = await db.query<{ role: Role }>(
    `SELECT role FROM role_assignments WHERE user_id = $1 AND project_id = $2
      ORDER BY array_position(ARRAY['admin','member','reader'], role)`,
    [userId, projectId],
  );
  return rows.map((r) => r.role);
}

export async function revokeToken(db: Queryable, tokenId: string, now: Date): Promise<void> {
  await db.query('UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [tokenId, now]);
}

/** Revokes every live token of a user, optionally sparing one (the caller's own). */
export async function revokeUserTokens(db: Queryable, userId: string, now: Date, except?: string): Promise<void> {
  await db.query(
    `UPDATE tokens SET revoked_at = $2
      WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND id IS DISTINCT FROM $3`,
    [userId, now, except ?? null],
  );
}
