import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * Makes every connection of `pool` prepare its statements; answers the pool. Statements with parameters are
 * prepared once per connection (named by a hash of their text) instead of parsed and planned at every call:
 * most of Postgres's work for the short statements Aster runs is exactly that. The same text always gets the
 * same name, so a name never meets another text. Both the database package's pools and the job layer's use it.
 */
export function preparingStatements(pool: pg.Pool): pg.Pool {
  pool.on('connect', prepareStatements);
  return pool;
}

const statementNames = new Map<string, string>();
/** The prepared name of a statement's text, hashed once per process (the texts are the code's own, so few). */
export function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = 's' + createHash('sha1').update(text).digest('hex').slice(0, 20);
    // A text made up at run time each time would grow this without end: past a bound, hash without keeping.
    if (statementNames.size < 10_000) statementNames.set(text, name);
  }
  return name;
}

function prepareStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (text: unknown, values?: unknown, callback?: unknown) => {
    if (typeof text === 'string' && Array.isArray(values) && values.length > 0) {
      const config = { name: statementName(text), text, values };
      return callback === undefined ? query(config) : query(config, callback);
    }
    // A query given as a config (rows as arrays, say) is prepared the same way, unless it names itself.
    if (isUnnamedConfig(text)) return query({ ...text, name: statementName(text.text) }, values, callback);
    return query(text, values, callback);
  };
}

function isUnnamedConfig(q: unknown): q is { text: string; values: unknown[]; name?: undefined } {
  if (typeof q !== 'object' || q === null) return false;
  const c = q as { text?: unknown; values?: unknown; name?: unknown };
  return typeof c.text === 'string' && Array.isArray(c.values) && c.values.length > 0 && c.name === undefined;
}
