import { describe, expect, it } from 'vitest';
import { queryTables } from '../src/index.ts';
import { useTestDatabase } from '../src/testing.ts';

const db = useTestDatabase({ migrate: false });

describe('queryTables', () => {
  it('splits rows of several tables selected side by side, parsed as pg parses them, null where a join found nothing', async () => {
    await db.pool.query(`CREATE TABLE qt_a (id int PRIMARY KEY, name text, big bigint, at timestamptz)`);
    await db.pool.query(`CREATE TABLE qt_b (id int PRIMARY KEY, a_id int, name text)`);
    await db.pool.query(`INSERT INTO qt_a VALUES (1, 'one', 9007199254740993, '2026-01-02T03:04:05Z'), (2, 'two', NULL, NULL)`);
    await db.pool.query(`INSERT INTO qt_b VALUES (10, 1, 'ten'), (11, 1, 'eleven')`);

    const rows = await queryTables(
      db.pool,
      `SELECT a.*, b.*, c.* FROM qt_a a LEFT JOIN qt_b b ON b.a_id = a.id LEFT JOIN qt_a c ON c.id = $1 WHERE a.id = ANY($2::int[]) ORDER BY a.id, b.id`,
      [2, [1, 2]],
    );
    expect(rows).toEqual([
      // The same column names in each part, each part its own object; the second qt_a is a part of its own.
      [{ id: 1, name: 'one', big: '9007199254740993', at: new Date('2026-01-02T03:04:05Z') }, { id: 10, a_id: 1, name: 'ten' }, { id: 2, name: 'two', big: null, at: null }],
      [{ id: 1, name: 'one', big: '9007199254740993', at: new Date('2026-01-02T03:04:05Z') }, { id: 11, a_id: 1, name: 'eleven' }, { id: 2, name: 'two', big: null, at: null }],
      [{ id: 2, name: 'two', big: null, at: null }, null, { id: 2, name: 'two', big: null, at: null }],
    ]);
    // Prepared once per connection, like any statement with parameters.
    const client = await db.pool.connect();
    try {
      const one = `SELECT a.* FROM qt_a a WHERE a.id = $1`;
      expect(await queryTables(client, one, [1])).toEqual([[{ id: 1, name: 'one', big: '9007199254740993', at: new Date('2026-01-02T03:04:05Z') }]]);
      expect(await queryTables(client, one, [3])).toEqual([]);
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1', [one]);
      expect(rows[0]!.n).toBe(1);
    } finally {
      client.release();
    }
  });
});
