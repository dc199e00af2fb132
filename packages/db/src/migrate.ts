import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Pool } from './pool.ts';

export const migrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  file: string;
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly migration?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Lists migration files in order, refusing gaps, duplicates and stray names. */
export async function listMigrations(dir = migrationsDir): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => !f.startsWith('.')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE.exec(file);
    if (!match) throw new MigrationError(`migration file name ${file} is not NNNN_name.sql`, file);
    const version = Number(match[1]);
    const expected = migrations.length + 1;
    if (version !== expected) {
      throw new MigrationError(`migration ${file} should be numbered ${String(expected).padStart(4, '0')}`, file);
    }
    migrations.push({ version, name: file.replace(/\.sql$/, ''), file });
  }
  return migrations;
}

export interface MigrateResult {
  applied: string[];
  current: number;
}

/**
 * Applies pending migrations, each in its own transaction, under an advisory lock so that
 * processes starting together never race. Forward only: a database newer than the code is refused.
 */
export async function migrate(pool: Pool, options: { dir?: string } = {}): Promise<MigrateResult> {
  const dir = options.dir ?? migrationsDir;
  const migrations = await listMigrations(dir);
  const client = await pool.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext(current_schema() || ':aster-migrate'))`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number; name: string }>(
      'SELECT version, name FROM schema_migrations ORDER BY version',
    );
    const known = new Set(migrations.map((m) => m.version));
    const unknown = rows.find((r) => !known.has(r.version));
    if (unknown) {
      throw new MigrationError(
        `the database has migration ${unknown.name}, which this code does not know: it is newer than this code`,
        unknown.name,
      );
    }
    const done = new Set(rows.map((r) => r.version));
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      const sql = await readFile(`${dir}/${m.file}`, 'utf8');
      try {
        await client.query('BEGIN');
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        const reason = error instanceof Error ? error.message : String(error);
        throw new MigrationError(`migration ${m.name} failed: ${reason}`, m.name, { cause: error });
      }
      applied.push(m.name);
    }
    return { applied, current: migrations.at(-1)?.version ?? 0 };
  } finally {
    await client.query(`SELECT pg_advisory_unlock(hashtext(current_schema() || ':aster-migrate'))`).catch(() => {});
    client.release();
  }
}
