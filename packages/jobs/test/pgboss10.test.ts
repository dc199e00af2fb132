import { createHash } from 'node:crypto';
import { useTestDatabase } from '@aster/db/testing';
import { createLogger } from '@aster/log';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { handler, Jobs, type JobContract } from '../src/index.ts';
import { addFetchIndex, JOB_COLUMNS, JOB_STATES, partitionOf, PGBOSS_SCHEMA_VERSION, withWakeUp, withWakeUps, workerStatements } from '../src/pgboss10.ts';
import { WORKER_SESSION } from '../src/worker.ts';

/*
 * Canaries for src/pgboss10.ts: every assumption its statements make about pg-boss's internals, checked against
 * a schema pg-boss 10 made itself (`new PgBoss(...).start()`), and its statements run side by side with pg-boss's
 * own on the same jobs. After an upgrade of pg-boss, a failure here says which assumption no longer holds.
 */

const db = useTestDatabase({ migrate: false });
const log = createLogger('jobs-test', { write: () => {} });
const ping: JobContract<'ping', z.ZodObject<{ n: z.ZodNumber }>> = { name: 'ping', version: 1, schema: z.object({ n: z.number() }) };
const plans = (await import('pg-boss/src/plans.js' as string)) as { default: Record<string, (s: string) => unknown> };
let boss: PgBoss;
let canary: string;
let sender: Jobs;
let worker: Jobs;

beforeAll(async () => {
  // pg-boss's own schema, made by pg-boss alone (no Aster statement has run on it yet).
  canary = `${db.schema}_canary`;
  boss = new PgBoss({ connectionString: db.url, schema: canary, supervise: false, schedule: false, max: 3 });
  boss.on('error', () => {});
  await boss.start();
  const schema = `${db.schema}_boss`;
  sender = await Jobs.start({ connectionString: db.url, log, schema });
  worker = await Jobs.start({ connectionString: db.url, log, schema });
});
afterAll(async () => {
  await worker?.stop(500);
  await sender?.stop(500);
  await boss?.stop({ graceful: false, wait: true, timeout: 1000 });
});

const q = (text: string, values: unknown[] = []) => db.pool.query(text, values).then((r) => r.rows);

describe('pg-boss 10’s schema, as the statements of pgboss10.ts assume it', () => {
  it('is the schema version they were written against', async () => {
    expect(await q(`SELECT version::int AS version FROM ${canary}.version`)).toEqual([{ version: PGBOSS_SCHEMA_VERSION }]);
  });

  it('orders job states created < retry < active < completed < cancelled < failed', async () => {
    const rows = await q(
      `SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = $1 AND t.typname = 'job_state' ORDER BY e.enumsortorder`,
      [canary],
    );
    expect(rows.map((r) => r.enumlabel)).toEqual([...JOB_STATES]);
  });

  it('has the job columns they read and write, of those types', async () => {
    const rows = await q(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
        WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
      [`${canary}.job`],
    );
    const types = Object.fromEntries(rows.map((r) => [r.name, String(r.type).replace(`${canary}.`, '')]));
    for (const [column, type] of Object.entries(JOB_COLUMNS)) expect({ column, type: types[column] }).toEqual({ column, type });
  });

  it('keeps each queue in a partition of job by list of name, named j + sha224 of the queue’s name', async () => {
    expect(await q(`SELECT pg_get_partkeydef($1::regclass) AS key`, [`${canary}.job`])).toEqual([{ key: 'LIST (name)' }]);
    await boss.createQueue('canary-q', { name: 'canary-q' });
    const [queue] = await q(`SELECT partition_name FROM ${canary}.queue WHERE name = 'canary-q'`);
    expect(queue.partition_name).toBe(`j${createHash('sha224').update('canary-q').digest('hex')}`);
    expect(partitionOf(canary)('canary-q')).toBe(`${canary}.${queue.partition_name}`);
    const attached = await q(
      `SELECT pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = $1::regclass AND c.oid = $2::regclass`,
      [`${canary}.job`, partitionOf(canary)('canary-q')],
    );
    expect(attached).toEqual([{ bound: "FOR VALUES IN ('canary-q')" }]);
  });

  it('gives the fetch index made on job to every queue’s partition, those made before and after it', async () => {
    await addFetchIndex(db.pool, canary);
    await boss.createQueue('canary-later', { name: 'canary-later' });
    for (const queue of ['canary-q', 'canary-later']) {
      const rows = await q(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2`, [canary, partitionOf(canary)(queue).slice(canary.length + 1)]);
      expect(rows.map((r) => String(r.indexdef))).toContainEqual(expect.stringMatching(/\(name, priority DESC, created_on, id\) WHERE \(state < 'active'::/));
    }
  });

  it('sends its inserts of one job and of many as the statements the wake-ups are fused into', async () => {
    expect(withWakeUp(canary, plans.default.insertJob!(canary) as string, [], 'c')).not.toBeNull();
    expect(withWakeUps(canary, plans.default.insertJobs!(canary) as string, [], ['c'])).not.toBeNull();
    // And pg-boss runs those very statements when asked to send (not some other path).
    const seen: string[] = [];
    const recording = { executeSql: (text: string, values: unknown[]) => (seen.push(text), db.pool.query(text, values)) };
    await boss.send('canary-q', { n: 1 }, { db: recording });
    await boss.insert([{ name: 'canary-q', data: { n: 2 } }, { name: 'canary-q', data: { n: 3 } }], { db: recording });
    expect(seen).toHaveLength(2);
    expect(withWakeUp(canary, seen[0]!, [], 'c')).not.toBeNull();
    expect(withWakeUps(canary, seen[1]!, [], ['c'])).not.toBeNull();
    await q(`DELETE FROM ${canary}.job WHERE name = 'canary-q'`);
  });
});

describe('pgboss10.ts’ statements beside pg-boss’s own, on the same jobs', () => {
  /** The same jobs sent to two queues, one after another (so that no two share a creation time). */
  async function twins(a: string, b: string): Promise<void> {
    for (const queue of [a, b]) await boss.createQueue(queue, { name: queue, retryLimit: 2 });
    const jobs = [
      { n: 1, priority: 0 },
      { n: 2, priority: 5 },
      { n: 3, priority: 0 },
      { n: 4, priority: 0, startAfter: 60 },
      { n: 5, priority: 5 },
    ];
    for (const job of jobs) {
      for (const queue of [a, b]) {
        await boss.send(queue, { n: job.n }, { priority: job.priority, ...(job.startAfter ? { startAfter: job.startAfter } : {}) });
      }
    }
  }
  /** A queue's jobs as the comparisons see them: what differs between twins (ids, times) left out. */
  const view = async (queue: string) =>
    (
      await q(
        `SELECT data->>'n' AS n, state, retry_count, started_on IS NOT NULL AS started, completed_on IS NOT NULL AS ended, output FROM ${canary}.job WHERE name = $1 ORDER BY (data->>'n')::int`,
        [queue],
      )
    ).map((r) => ({ ...r }));

  it('take the jobs pg-boss’s fetch takes, in its order, and mark them as it does; finish and fail for good as it does', async () => {
    await twins('twin-boss', 'twin-own');
    const own = workerStatements(canary);
    const client = new pg.Client({ connectionString: db.url, options: WORKER_SESSION });
    await client.connect();
    try {
      const take = async (n: number) => (await client.query(own.take('twin-own'), ['twin-own', n])).rows as { id: string; tid: string; data: { n: number }; retryCount: number }[];
      const fetch = async (n: number) => (await boss.fetch('twin-boss', { batchSize: n })) ?? [];
      // Two at a time, then the rest: the same jobs first (priority first, then age), never one to start later. (The
      // order of the rows within one fetch is neither's to promise: their handlers start together.)
      const ns = (jobs: { data: unknown }[]) => jobs.map((j) => (j.data as { n: number }).n).sort();
      const bossFirst = await fetch(2);
      const ownFirst = await take(2);
      expect(ns(ownFirst)).toEqual(ns(bossFirst));
      const bossRest = await fetch(10);
      const ownRest = await take(10);
      expect(ns(ownRest)).toEqual(ns(bossRest));
      expect([ns(ownFirst), ns(ownRest)]).toEqual([[2, 5], [1, 3]]);
      expect(await view('twin-own')).toEqual(await view('twin-boss'));

      // Completed with an output, as pg-boss's complete does.
      const byN = <J extends { data: unknown }>(jobs: J[], n: number) => jobs.find((j) => (j.data as { n: number }).n === n)!;
      const [first, second] = [byN(ownFirst, 2), byN(ownFirst, 5)];
      const [bossA, bossB] = [byN(bossFirst, 2), byN(bossFirst, 5)];
      await client.query(own.finish('twin-own'), [[first!.tid], [first!.id], JSON.stringify({ value: 1 })]);
      await boss.complete('twin-boss', bossA!.id, { value: 1 });
      // Failed as pg-boss fails a job that has no retries left.
      await client.query(own.failForGood('twin-own'), ['twin-own', second!.id, JSON.stringify({ message: 'refused' })]);
      await q(`UPDATE ${canary}.job SET retry_limit = 0 WHERE name = 'twin-boss' AND id = $1`, [bossB!.id]);
      await boss.fail('twin-boss', bossB!.id, { message: 'refused' });
      expect(await view('twin-own')).toEqual(await view('twin-boss'));
      expect((await view('twin-own')).map((r) => r.state)).toEqual(['active', 'completed', 'active', 'created', 'failed']);
    } finally {
      await client.end();
    }
  });

  it('take a job again after pg-boss retried it, counting the retry as pg-boss does', async () => {
    await twins('again-boss', 'again-own');
    const own = workerStatements(canary);
    const client = new pg.Client({ connectionString: db.url, options: WORKER_SESSION });
    await client.connect();
    try {
      const taken = (await client.query(own.take('again-own'), ['again-own', 1])).rows as { id: string }[];
      const fetched = (await boss.fetch('again-boss', { batchSize: 1 })) ?? [];
      // pg-boss's fail puts a job with retries left back to wait; both then take it again.
      await boss.fail('again-own', taken[0]!.id, { message: 'once' });
      await boss.fail('again-boss', fetched[0]!.id, { message: 'once' });
      await q(`UPDATE ${canary}.job SET start_after = now() - interval '1 second' WHERE name IN ('again-own', 'again-boss') AND state = 'retry'`);
      const again = (await client.query(own.take('again-own'), ['again-own', 1])).rows as { id: string; retryCount: number }[];
      const bossAgain = (await boss.fetch('again-boss', { batchSize: 1, includeMetadata: true })) ?? [];
      expect(again.map((j) => j.id)).toEqual(taken.map((j) => j.id));
      expect(again[0]!.retryCount).toBe(1);
      expect((bossAgain[0] as unknown as { retryCount: number }).retryCount).toBe(1);
      expect(await view('again-own')).toEqual(await view('again-boss'));
    } finally {
      await client.end();
    }
  });
});

describe('a worker’s own statements on the queue’s partition', () => {
  it('take the oldest jobs that may start, and finish them by row address, with one generic plan each', async () => {
    const schema = `${db.schema}_boss`;
    const own = workerStatements(schema);
    await sender.ensureQueue('own');
    const { rows } = await db.pool.query<{ partition_name: string }>(`SELECT partition_name FROM ${schema}.queue WHERE name = 'own'`);
    const partition = `${schema}.${rows[0]!.partition_name}`;
    for (const text of [own.take('own'), own.finish('own')]) {
      expect(text).toContain(partition);
      expect(text).not.toContain(`${schema}.job `);
    }

    const ids: string[] = [];
    for (let n = 1; n <= 3; n++) ids.push(await sender.send(ping, 'own', { n }, { requestId: `own-${n}` }));
    const later = await sender.send(ping, 'own', { n: 4 }, { requestId: 'own-4', startAfterSeconds: 60 });
    // As the worker runs them: prepared, with one generic plan.
    const client = new pg.Client({ connectionString: db.url, options: WORKER_SESSION });
    await client.connect();
    try {
      const explain = async (name: string, text: string, args: string) => {
        await client.query(`PREPARE ${name} AS ${text}`);
        return (await client.query(`EXPLAIN EXECUTE ${name}(${args})`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      };
      const takePlan = await explain('own_take', own.take('own'), `'own', 2`);
      expect(takePlan).toMatch(/Tid Scan/);
      expect(takePlan).toMatch(/Index Scan using \S+_name_priority_created_on_id_idx/);
      expect(await explain('own_finish', own.finish('own'), `'{}', '{}', NULL`)).toMatch(/Tid Scan/);

      // Oldest first, two at a time, never a job whose start is still to come.
      const take = () => client.query({ name: 'take', text: own.take('own'), values: ['own', 2] }).then((r) => r.rows);
      const first = await take();
      const second = await take();
      expect(first.map((r) => r.id).sort()).toEqual(ids.slice(0, 2).sort());
      expect(second.map((r) => r.id)).toEqual(ids.slice(2));
      expect(await take()).toEqual([]);
      expect(first.find((r) => r.id === ids[0])).toMatchObject({ retryCount: 0, data: { job: 'ping', payload: { n: 1 } } });

      // A row that moved since it was taken (here: rewritten in place) is not finished by its old address.
      await db.pool.query(`UPDATE ${partition} SET data = data WHERE id = $1`, [ids[2]]);
      const taken = [...first, ...second];
      const finish = () => client.query({ name: 'finish', text: own.finish('own'), values: [taken.map((r) => r.tid), taken.map((r) => r.id), '{"value":1}'] }).then((r) => r.rows.map((x) => x.id).sort());
      expect(await finish()).toEqual(ids.slice(0, 2).sort());
      expect(await finish()).toEqual([]);
      const states = await db.pool.query(`SELECT id, state, output FROM ${schema}.job WHERE name = 'own' ORDER BY created_on`);
      expect(states.rows).toEqual([
        { id: ids[0], state: 'completed', output: { value: 1 } },
        { id: ids[1], state: 'completed', output: { value: 1 } },
        { id: ids[2], state: 'active', output: null },
        { id: later, state: 'created', output: null },
      ]);
    } finally {
      await client.end();
    }
  });

  it('finish a job whose row moved while it ran, by its id', async () => {
    const schema = `${db.schema}_boss`;
    await sender.ensureQueue('moving');
    const done: number[] = [];
    worker.work(
      'moving',
      [handler(ping, async (p, ctx) => {
            await db.pool.query(`UPDATE ${schema}.job SET data = data WHERE name = 'moving' AND id = $1`, [ctx.jobId]);
            done.push(p.n);
            return 'moved';
          })],
      { concurrency: 2, pollSeconds: 30 },
    );
    await sender.send(ping, 'moving', { n: 1 }, { requestId: 'm-1' });
    await expect
      .poll(async () => (await db.pool.query(`SELECT state, output FROM ${schema}.job WHERE name = 'moving'`)).rows, { timeout: 5000 })
      .toEqual([{ state: 'completed', output: { value: 'moved' } }]);
    expect(done).toEqual([1]);
  });
});

