import type { Queryable } from '@aster/db';
import type { ApiConfig } from '../context.ts';
import { AsterError, type AsterErrorCode } from '../errors.ts';
import { impliedBy, satisfies, type Role } from '../roles.ts';
import { isUuid } from './lookup.ts';
import { burnPasswordCheck, verifyPassword } from './passwords.ts';
import { secretMatches } from './secrets.ts';
import { assertNotLocked, clearFailures, recordFailure } from './throttle.ts';
import { issueToken, rolesOn } from './tokens.ts';

export interface LoginResult {
  token: string;
  expiresAt: Date;
  user: { id: string; name: string };
  project: { id: string; name: string };
  roles: Role[];
}

const badLogin = () => new AsterError('Unauthorized', 'Invalid username or password');

export async function passwordLogin(
  db: Queryable,
  input: { username: string; password: string; project?: string | undefined },
  now: Date,
  config: ApiConfig,
): Promise<LoginResult> {
  await assertNotLocked(db, input.username, now);
  const { rows } = await db.query<{ id: string; name: string; password_hash: string; enabled: boolean }>(
    'SELECT id, name, password_hash, enabled FROM users WHERE lower(name) = lower($1)',
    [input.username],
  );
  const user = rows[0];
  const ok = user ? await verifyPassword(input.password, user.password_hash) : (await burnPasswordCheck(input.password), false);
  if (!user || !ok) {
    await recordFailure(db, input.username, now, config);
    throw badLogin();
  }
  await clearFailures(db, input.username);
  if (!user.enabled) throw new AsterError('Unauthorized', `User ${user.name} is disabled`);

  const project = await userProject(db, user, input.project);
  const issued = await issueToken(db, {
    userId: user.id,
    projectId: project.id,
    now,
    expiresAt: new Date(now.getTime() + config.tokenTtlSeconds * 1000),
  });
  return { token: issued.token, expiresAt: issued.expiresAt, user: { id: user.id, name: user.name }, project, roles: project.roles };
}

/** The named project (by name or id), or by default the admin project if the user has a role there, else the first by name. */
export async function userProject(
  db: Queryable,
  user: { id: string; name: string },
  wanted: string | undefined,
  /** At login a refusal is Unauthorized; for a signed-in user switching, NotFound (the session is fine). */
  refuse: AsterErrorCode = 'Unauthorized',
): Promise<{ id: string; name: string; roles: Role[] }> {
  const { rows } = await db.query<{ id: string; name: string; is_admin: boolean }>(
    `SELECT DISTINCT p.id, p.name, p.is_admin FROM projects p
       JOIN role_assignments ra ON ra.project_id = p.id AND ra.user_id = $1
      ORDER BY p.is_admin DESC, p.name`,
    [user.id],
  );
  let project = rows[0];
  if (wanted !== undefined) {
    project = rows.find((p) => p.id === wanted || p.name.toLowerCase() === wanted.toLowerCase());
    if (!project) throw new AsterError(refuse, `User ${user.name} has no role on project ${wanted}`);
  }
  if (!project) throw new AsterError(refuse, `User ${user.name} has no role on any project`);
  return { id: project.id, name: project.name, roles: await rolesOn(db, user.id, project.id) };
}

export async function credentialLogin(
  db: Queryable,
  input: { credentialId: string; secret: string },
  now: Date,
  config: ApiConfig,
): Promise<LoginResult> {
  const invalid = new AsterError('Unauthorized', 'Invalid application credential id or secret');
  if (!isUuid(input.credentialId)) throw invalid;
  const { rows } = await db.query<{
    id: string;
    name: string;
    role: Role;
    secret_hash: Buffer;
    expires_at: Date | null;
    revoked_at: Date | null;
    user_id: string;
    user_name: string;
    user_enabled: boolean;
    project_id: string;
    project_name: string;
  }>(
    `SELECT c.id, c.name, c.role, c.secret_hash, c.expires_at, c.revoked_at,
            u.id AS user_id, u.name AS user_name, u.enabled AS user_enabled,
            p.id AS project_id, p.name AS project_name
       FROM app_credentials c JOIN users u ON u.id = c.user_id JOIN projects p ON p.id = c.project_id
      WHERE c.id = $1`,
    [input.credentialId],
  );
  const c = rows[0];
  if (!c || !secretMatches(input.secret, c.secret_hash)) throw invalid;
  if (c.revoked_at) throw new AsterError('Unauthorized', `Application credential ${c.name} was revoked`);
  if (c.expires_at && c.expires_at.getTime() <= now.getTime()) {
    throw new AsterError('Unauthorized', `Application credential ${c.name} expired`);
  }
  if (!c.user_enabled) throw new AsterError('Unauthorized', `User ${c.user_name} is disabled`);
  const held = await rolesOn(db, c.user_id, c.project_id);
  if (!satisfies(held, c.role)) {
    throw new AsterError(
      'Unauthorized',
      `Application credential ${c.name} needs role ${c.role} on project ${c.project_name}, which user ${c.user_name} no longer holds`,
    );
  }
  const ttlEnd = now.getTime() + config.tokenTtlSeconds * 1000;
  const expiresAt = new Date(c.expires_at ? Math.min(ttlEnd, c.expires_at.getTime()) : ttlEnd);
  const issued = await issueToken(db, { userId: c.user_id, projectId: c.project_id, credentialId: c.id, now, expiresAt });
  await db.query('UPDATE app_credentials SET last_used_at = $2 WHERE id = $1', [c.id, now]);
  return {
    token: issued.token,
    expiresAt,
    user: { id: c.user_id, name: c.user_name },
    project: { id: c.project_id, name: c.project_name },
    roles: impliedBy(c.role),
  };
}
