import type { Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string) => UUID.test(value);

export interface ProjectRow {
  id: string;
  name: string;
  is_admin: boolean;
}

/** A project by id or (case-insensitive) name. */
export async function findProject(db: Queryable, ref: string): Promise<ProjectRow> {
  const { rows } = isUuid(ref)
    ? await db.query<ProjectRow>('SELECT id, name, is_admin FROM projects WHERE id = $1', [ref])
    : await db.query<ProjectRow>('SELECT id, name, is_admin FROM projects WHERE lower(name) = lower($1)', [ref]);
  if (!rows[0]) throw new AsterError('NotFound', `Project ${ref} not found`);
  return rows[0];
}

export async function findUser(db: Queryable, id: string): Promise<{ id: string; name: string; password_hash: string }> {
  const { rows } = await db.query<{ id: string; name: string; password_hash: string }>(
    'SELECT id, name, password_hash FROM users WHERE id = $1',
    [id],
  );
  if (!rows[0]) throw new AsterError('NotFound', `User ${id} not found`);
  return rows[0];
}

/** How many enabled users hold role admin on the admin project, leaving `exceptUser` out. */
export async function countCloudAdmins(db: Queryable, exceptUser?: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(DISTINCT u.id) AS n FROM role_assignments ra
       JOIN projects p ON p.id = ra.project_id AND p.is_admin
       JOIN users u ON u.id = ra.user_id AND u.enabled
      WHERE ra.role = 'admin' AND u.id IS DISTINCT FROM $1`,
    [exceptUser ?? null],
  );
  return Number(rows[0]!.n);
}
