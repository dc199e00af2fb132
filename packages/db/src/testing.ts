import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createPool, quoteIdent, type Pool } from './pool.ts';
import { migrate } from './migrate.ts';

/** The throwaway Postgres that `npm test` starts; never the user's own database. */
export function testDatabaseUrl(): string {
  // eslint-disable-next-line no-restricted-properties -- test harness setting, set by the test launcher
  const url = process.env.ASTER_TEST_DATABASE_URL;
  if (!url) throw new Error('ASTER_TEST_DATABASE_URL is not set: run the tests with `npm test`, which starts a throwaway Postgres');
  return url;
}

export interface TestDatabase {
  readonly pool: Pool;
  readonly schema: string;
  readonly url: string;
}

/** Creates a fresh schema; `migrate: false` leaves it empty. */
export async function createTestSchema(options: { migrate?: boolean } = {}): Promise<TestDatabase & { drop(): Promise<void> }> {
  const url = testDatabaseUrl();
  const schema = 't_' + randomBytes(6).toString('hex');
  const admin = createPool({ connectionString: url, max: 1 });
  try {
    await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  } finally {
    await admin.end();
  }
  const pool = createPool({ connectionString: url, schema, max: 5, applicationName: 'aster-test' });
  if (options.migrate !== false) await migrate(pool);
  return {
    pool,
    schema,
    url,
    async drop() {
      await pool.end();
      const a = createPool({ connectionString: url, max: 1 });
      try {
        await a.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
      } finally {
        await a.end();
      }
    },
  };
}

/**
 * Gives the calling test file its own migrated schema on the real Postgres. The schema is dropped
 * when every test of the file passed, and kept (its name printed) for a look when one failed.
 */
export function useTestDatabase(options: { migrate?: boolean } = {}): TestDatabase {
  let db: (TestDatabase & { drop(): Promise<void> }) | undefined;
  let failed = false;
  beforeAll(async () => {
    db = await createTestSchema(options);
  });
  beforeEach((ctx) => {
    ctx.onTestFailed(() => {
      failed = true;
    });
  });
  afterAll(async () => {
    if (!db) return;
    if (failed) {
      await db.pool.end();
      process.stderr.write(`kept schema ${db.schema} of a failed test file for inspection\n`);
    } else {
      await db.drop();
    }
  });
  const get = () => {
    if (!db) throw new Error('the test database is ready only inside tests and hooks');
    return db;
  };
  return {
    get pool() {
      return get().pool;
    },
    get schema() {
      return get().schema;
    },
    get url() {
      return get().url;
    },
  };
}
