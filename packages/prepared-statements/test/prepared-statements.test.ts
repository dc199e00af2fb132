import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { preparingStatements, statementName } from '../src/index.ts';

// The throwaway Postgres that `npm test` starts (this package stands below the database package, so it
// connects on its own rather than through @aster/db/testing).
const url = process.env.ASTER_TEST_DATABASE_URL;
if (!url) throw new Error('ASTER_TEST_DATABASE_URL is not set: run the tests with `npm test`, which starts a throwaway Postgres');
const pool = preparingStatements(new pg.Pool({ connectionString: url, max: 1 }));
afterAll(() => pool.end());

/** The statements prepared on the pool's one connection, by name. */
async function prepared(client: pg.PoolClient): Promise<Map<string, string>> {
  const { rows } = await client.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements');
  return new Map(rows.map((r) => [r.name, r.statement]));
}

describe('preparingStatements', () => {
  it('prepares a statement with parameters once per connection, named by its text, and leaves the others alone', async () => {
    const client = await pool.connect();
    try {
      const text = 'SELECT $1::int + 1 AS n';
      expect((await client.query(text, [1])).rows).toEqual([{ n: 2 }]);
      expect((await client.query(text, [41])).rows).toEqual([{ n: 42 }]);
      const names = await prepared(client);
      expect(names.get(statementName(text))).toBe(text);
      expect([...names.values()].filter((s) => s === text)).toHaveLength(1);

      // Without parameters: run as it is, not prepared.
      await client.query('SELECT 2 AS two');
      expect([...(await prepared(client)).values()]).not.toContain('SELECT 2 AS two');

      // A config (rows as arrays) is prepared the same way; one that names itself keeps its name.
      const arrays = 'SELECT $1::text AS a, $2::text AS b';
      expect((await client.query({ text: arrays, values: ['x', 'y'], rowMode: 'array' })).rows).toEqual([['x', 'y']]);
      const own = 'SELECT $1::int * 2 AS n';
      expect((await client.query({ name: 'own_name', text: own, values: [4] })).rows).toEqual([{ n: 8 }]);
      const after = await prepared(client);
      expect(after.get(statementName(arrays))).toBe(arrays);
      expect(after.get('own_name')).toBe(own);
      expect(after.has(statementName(own))).toBe(false);
    } finally {
      client.release();
    }
  });

  it('answers through a callback too, as pg’s pool itself queries', async () => {
    const n = await new Promise<number>((resolve, reject) =>
      pool.query('SELECT $1::int AS n', [7], (error, result) => (error ? reject(error) : resolve(result.rows[0].n))),
    );
    expect(n).toBe(7);
    expect(statementName('SELECT 1')).toBe(statementName('SELECT 1'));
    expect(statementName('SELECT 1')).not.toBe(statementName('SELECT 2'));
  });
});
