import { useTestDatabase } from '@aster/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { InstanceChanges } from '../src/index.ts';
import { silentLog } from './harness.ts';

const db = useTestDatabase();
let changes: InstanceChanges;

beforeAll(async () => {
  changes = new InstanceChanges({ connectionString: db.url, log: silentLog, db: db.pool });
  await changes.start();
});
afterAll(() => changes?.stop());

it('reads one horizon for every watcher woken by the same change, and a new one after a newer change', async () => {
  const seen = changes.seen;
  const a = changes.settled(seen);
  const b = changes.settled(seen);
  expect(b).toBe(a); // shared, not read twice
  await a;
  const feed = changes.subscribe();
  try {
    await db.pool.query(`SELECT pg_notify('aster_instances', '1 x')`);
    await feed.next(undefined, 5000);
  } finally {
    feed.close();
  }
  expect(changes.seen).toBeGreaterThan(seen);
  const c = changes.settled(changes.seen);
  expect(c).not.toBe(a); // woken by a newer change: a horizon read before it would not do
  expect(changes.settled(seen)).toBe(c); // but an older waker may share the newer read
  await expect(c).resolves.toBeTypeOf('bigint');
});
