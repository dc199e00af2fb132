import { randomBytes } from 'node:crypto';
import { createPool, quoteIdent } from '@aster/db';
import { useTestDatabase } from '@aster/db/testing';
import { createLogger } from '@aster/log';
import { afterAll, expect, it } from 'vitest';
import { z } from 'zod';
import { grantQueueRole, handler, Jobs, type JobContract } from '../src/index.ts';

const db = useTestDatabase({ migrate: false });
const log = createLogger('jobs-test', { write: () => {} });
const role = `aster_q_${randomBytes(4).toString('hex')}`;
const hello: JobContract<'hello', z.ZodObject<{ from: z.ZodString }>> = { name: 'hello', version: 1, schema: z.object({ from: z.string() }) };

afterAll(async () => {
  await db.pool.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${quoteIdent(`${db.schema}_boss`)} REVOKE ALL ON TABLES FROM ${role}`).catch(() => {});
  await db.pool.query(`DROP OWNED BY ${role}`).catch(() => {});
  await db.pool.query(`DROP ROLE IF EXISTS ${role}`);
});

it('gives compute hosts a role that uses the job queues and reaches nothing else', async () => {
  const schema = `${db.schema}_boss`;
  const owner = await Jobs.start({ connectionString: db.url, log, schema });
  await owner.ensureQueue('conductor');
  await db.pool.query(`CREATE TABLE ${quoteIdent(db.schema)}.instances (id int)`);
  const password = randomBytes(24).toString('base64url');
  const database = decodeURIComponent(new URL(db.url).pathname.slice(1));
  await grantQueueRole(db.pool, { role, password, database, schema });
  await grantQueueRole(db.pool, { role, password, database, schema }); // again: idempotent

  const url = new URL(db.url);
  url.username = role;
  url.password = password;
  const host = await Jobs.start({ connectionString: url.toString(), log, schema, migrate: false });
  const received: string[] = [];
  owner.work('conductor', [handler(hello, async (p) => void received.push(p.from))]);
  try {
    await host.send(hello, 'conductor', { from: 'compute-1' }, { requestId: 'r1' });
    await expect.poll(() => received, { timeout: 5000 }).toEqual(['compute-1']);
    // A host's own queue, made after the grant, is worked by the host (from the queue's partition).
    await owner.ensureQueue('compute.late');
    const got: string[] = [];
    host.work('compute.late', [handler(hello, async (p) => void got.push(p.from))]);
    await owner.send(hello, 'compute.late', { from: 'conductor' }, { requestId: 'r2' });
    await expect.poll(() => got, { timeout: 5000 }).toEqual(['conductor']);
    await expect.poll(async () => (await db.pool.query(`SELECT state FROM ${schema}.job WHERE name = 'compute.late'`)).rows).toEqual([{ state: 'completed' }]);
    // Its own queue is made for it; it cannot make one, nor read the instance tables.
    await expect(host.ensureQueue('compute.evil')).rejects.toThrow(/permission denied|must be owner/);
    const as = createPool({ connectionString: url.toString(), max: 1 });
    try {
      await expect(as.query(`SELECT * FROM ${quoteIdent(db.schema)}.instances`)).rejects.toThrow(/permission denied/);
    } finally {
      await as.end();
    }
  } finally {
    await host.stop(200);
    await owner.stop(200);
  }
});
