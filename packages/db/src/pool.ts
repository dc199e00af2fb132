import { preparingStatements } from '@aster/prepared-statements';
import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type Queryable = pg.Pool | pg.PoolClient;

export interface PoolOptions {
  connectionString: string;
  /** Puts every connection on this schema (tests give each file its own). */
  schema?: string;
  max?: number;
  applicationName?: string;
  /**
   * false: commits do not wait for the disk (a crash of Postgres itself may lose the last moments of work, never
   * half of a transaction). For workers whose every transaction is followed by its job's completion: a lost
   * transaction means a lost completion, and the job runs again.
   */
  synchronousCommit?: boolean;
}

/**
 * `column` matched against `ids` as parameter `$n`: `= $n` for one id, `= ANY($n)` for several, with the value to
 * pass. Postgres keeps one plan for a statement matching one id, where for a list it plans again at every call
 * (its plan for a list of unknown length looks dearer than one made for the list given).
 */
export function matchIds(column: string, ids: string[], n: number): { sql: string; value: string | string[] } {
  return ids.length === 1 ? { sql: `${column} = $${n}::uuid`, value: ids[0]! } : { sql: `${column} = ANY($${n}::uuid[])`, value: ids };
}

export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

export function createPool(options: PoolOptions): Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'aster',
    ...(options.schema || options.synchronousCommit === false
      ? {
          options: [
            ...(options.schema ? [`-c search_path=${quoteIdent(options.schema)}`] : []),
            ...(options.synchronousCommit === false ? ['-c synchronous_commit=off'] : []),
          ].join(' '),
        }
      : {}),
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  // Statements with parameters are prepared once per connection, not parsed and planned at every call.
  return preparingStatements(pool);
}

/**
 * Runs a statement that selects whole rows of several tables side by side (`SELECT a.*, b.* FROM … LEFT JOIN
 * …`), answering each result row as one object per table, in the order selected, its columns parsed as pg
 * parses them; an object is null where that table's part of the row is all null (an outer join that found
 * nothing). Lookups that would each cost a round trip are then one, and each part maps as its own query's row.
 */
export async function queryTables(db: Queryable, text: string, values: unknown[]): Promise<(Record<string, unknown> | null)[][]> {
  const result = await db.query<unknown[]>({ text, values, rowMode: 'array' });
  // A new table's columns start where the source table changes, or where its column numbers start again.
  const groups: { start: number; end: number }[] = [];
  result.fields.forEach((f, i) => {
    const prev = result.fields[i - 1];
    if (!prev || prev.tableID !== f.tableID || f.columnID <= prev.columnID) groups.push({ start: i, end: i + 1 });
    else groups[groups.length - 1]!.end = i + 1;
  });
  return result.rows.map((row) =>
    groups.map(({ start, end }) => {
      const part = row.slice(start, end);
      if (part.every((v) => v === null)) return null;
      return Object.fromEntries(result.fields.slice(start, end).map((f, i) => [f.name, part[i]]));
    }),
  );
}

/** Runs `fn` in one transaction; rolls back on a throw and rethrows. */
export async function transaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
