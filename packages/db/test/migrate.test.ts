import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listMigrations, migrate, MigrationError } from '../src/index.ts';
import { createTestSchema, useTestDatabase } from '../src/testing.ts';

const empty = useTestDatabase({ migrate: false });

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'aster-migrations-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

async function tables(pool: typeof empty.pool): Promise<string[]> {
  const { rows } = await pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`,
  );
  return rows.map((r) => r.table_name);
}

describe('migrations', () => {
  it('build the whole schema from an empty database, then find nothing left to do', async () => {
    expect(await tables(empty.pool)).toEqual([]);
    const first = await migrate(empty.pool);
    const all = await listMigrations();
    expect(first.applied).toEqual(all.map((m) => m.name));
    expect(first.current).toBe(all.length);
    expect(await tables(empty.pool)).toEqual(
      expect.arrayContaining(['projects', 'users', 'role_assignments', 'tokens', 'app_credentials', 'login_throttle', 'schema_migrations']),
    );
    const second = await migrate(empty.pool);
    expect(second.applied).toEqual([]);
  });

  it('stop at a failing migration, naming it and the database error, with nothing of it applied', async () => {
    const db = await createTestSchema({ migrate: false });
    const dir = folder({
      '0001_first.sql': 'CREATE TABLE first (id int);',
      '0002_broken.sql': 'CREATE TABLE half (id int); INSERT INTO nowhere VALUES (1);',
      '0003_later.sql': 'CREATE TABLE later (id int);',
    });
    const error = await migrate(db.pool, { dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).migration).toBe('0002_broken');
    expect((error as Error).message).toMatch(/^migration 0002_broken failed: relation "nowhere" does not exist$/);
    expect(await tables(db.pool)).toEqual(['first', 'schema_migrations']);
    const applied = await db.pool.query('SELECT version FROM schema_migrations');
    expect(applied.rows).toEqual([{ version: 1 }]);
    await db.drop();
  });

  it('refuse a database newer than the code', async () => {
    const db = await createTestSchema({ migrate: false });
    await migrate(db.pool, { dir: folder({ '0001_a.sql': 'SELECT 1;', '0002_b.sql': 'SELECT 1;' }) });
    await expect(migrate(db.pool, { dir: folder({ '0001_a.sql': 'SELECT 1;' }) })).rejects.toThrow(
      /the database has migration 0002_b, which this code does not know/,
    );
    await db.drop();
  });

  it('refuse gaps and stray file names', async () => {
    await expect(listMigrations(folder({ '0001_a.sql': '', '0003_c.sql': '' }))).rejects.toThrow(/0003_c.sql should be numbered 0002/);
    await expect(listMigrations(folder({ '0001_a.sql': '', 'notes.txt': '' }))).rejects.toThrow(/notes.txt is not NNNN_name.sql/);
  });

  it('run once when several processes start together', async () => {
    const db = await createTestSchema({ migrate: false });
    const results = await Promise.all([migrate(db.pool), migrate(db.pool), migrate(db.pool)]);
    const applied = results.flatMap((r) => r.applied);
    expect(applied).toEqual((await listMigrations()).map((m) => m.name));
    await db.drop();
  });
});
