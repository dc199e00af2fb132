import { transaction, type Pool } from '@aster/db';
import { generatePassword, hashPassword } from './passwords.ts';

export interface BootstrapResult {
  /** True when this call created the admin user (the first start). */
  created: boolean;
  /** The admin password, only when `created` and it was generated here. */
  generatedPassword?: string;
}

/**
 * The first start creates project `admin` (the admin project) and user `admin` holding role admin on it.
 * Later starts change nothing, so a password changed since is kept.
 */
export async function ensureAdmin(pool: Pool, options: { password?: string | undefined } = {}): Promise<BootstrapResult> {
  return transaction(pool, async (db) => {
    await db.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':aster-bootstrap'))`);
    const existing = await db.query('SELECT 1 FROM projects WHERE is_admin');
    if (existing.rowCount) return { created: false };
    const password = options.password ?? generatePassword();
    const project = await db.query<{ id: string }>(
      `INSERT INTO projects (name, description, is_admin) VALUES ('admin', 'Cloud administration', true) RETURNING id`,
    );
    const user = await db.query<{ id: string }>(
      `INSERT INTO users (name, password_hash) VALUES ('admin', $1)
       ON CONFLICT ((lower(name))) DO UPDATE SET name = users.name RETURNING id`,
      [await hashPassword(password)],
    );
    await db.query(`INSERT INTO role_assignments (user_id, project_id, role) VALUES ($1, $2, 'admin') ON CONFLICT DO NOTHING`, [
      user.rows[0]!.id,
      project.rows[0]!.id,
    ]);
    return options.password ? { created: true } : { created: true, generatedPassword: password };
  });
}
