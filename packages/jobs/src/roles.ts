import type { SqlRunner } from './send.ts';

/** pg-boss's schema, where the job queues live. */
export const QUEUE_SCHEMA = 'pgboss';

/**
 * A login role that reaches the job queues and nothing else: compute hosts use it, so that a compromised host
 * can read and write jobs but not the instance tables (DESIGN: Boundaries). Created if missing; its password
 * is set each time. Needs a connection allowed to create roles; run it after pg-boss's schema exists.
 */
export async function grantQueueRole(db: SqlRunner, options: { role: string; password: string; database: string; schema?: string }): Promise<void> {
  const schema = options.schema ?? QUEUE_SCHEMA;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(options.role)) throw new Error(`role name ${options.role} is not a plain identifier`);
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(options.password)) throw new Error('the queue role password must be 16 to 128 URL-safe characters');
  const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const { rows } = await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [options.role]);
  const verb = rows.length ? 'ALTER' : 'CREATE';
  // The password is checked above to hold only URL-safe characters, so quoting it as a literal is safe.
  await db.query(`${verb} ROLE ${ident(options.role)} LOGIN PASSWORD '${options.password}' NOSUPERUSER NOCREATEDB NOCREATEROLE`);
  await db.query(`GRANT CONNECT ON DATABASE ${ident(options.database)} TO ${ident(options.role)}`);
  await db.query(`GRANT USAGE ON SCHEMA ${ident(schema)} TO ${ident(options.role)}`);
  await db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${ident(schema)} TO ${ident(options.role)}`);
  // Jobs are fetched from each queue's own partition (see workerStatements), so the partitions made later for
  // new queues (by this connection's role, which runs the API) are granted as they are made.
  await db.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${ident(schema)} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${ident(options.role)}`);
}
