import { useTestDatabase } from '@aster/db/testing';
import { createLogger } from '@aster/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { handler, Jobs, type JobContract } from '../src/index.ts';
import pg from 'pg';
import { withWakeUp, withWakeUps } from '../src/pgboss10.ts';
import { wakeChannel } from '../src/wake-ups.ts';

const db = useTestDatabase({ migrate: false });
const log = createLogger('jobs-test', { write: () => {} });
const ping: JobContract<'ping', z.ZodObject<{ n: z.ZodNumber }>> = { name: 'ping', version: 1, schema: z.object({ n: z.number() }) };
let sender: Jobs;
let worker: Jobs;

/** A connection listening on `channel`, and the channels of what it heard. */
async function listening(channel: string): Promise<{ heard: string[]; listener: pg.Client }> {
  const heard: string[] = [];
  const listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  listener.on('notification', (n) => heard.push(n.channel));
  await listener.query(`LISTEN ${channel}`);
  return { heard, listener };
}

beforeAll(async () => {
  const schema = `${db.schema}_boss`;
  sender = await Jobs.start({ connectionString: db.url, log, schema });
  worker = await Jobs.start({ connectionString: db.url, log, schema });
});
afterAll(async () => {
  await worker?.stop(500);
  await sender?.stop(500);
});

describe('the job runner', () => {
  it('wakes an idle worker at once instead of at its next poll, and hands it the parsed payload', async () => {
    await sender.ensureQueue('wake');
    const seen: { n: number; ms: number; requestId: string }[] = [];
    let sentAt = 0;
    worker.work('wake', [handler(ping, async (p, ctx) => void seen.push({ n: p.n, ms: performance.now() - sentAt, requestId: ctx.requestId }))], { pollSeconds: 30 });
    await new Promise((r) => setTimeout(r, 200)); // the worker has fetched nothing and waits
    for (let n = 1; n <= 5; n++) {
      sentAt = performance.now();
      await sender.send(ping, 'wake', { n }, { requestId: `r-${n}` });
      await expect.poll(() => seen.length, { timeout: 5000, interval: 5 }).toBe(n);
    }
    expect(seen.map((s) => s.n)).toEqual([1, 2, 3, 4, 5]);
    expect(seen.map((s) => s.requestId)).toEqual(['r-1', 'r-2', 'r-3', 'r-4', 'r-5']);
    // With a 30 s poll, only a wake-up explains a pickup within a second.
    expect(Math.max(...seen.map((s) => s.ms))).toBeLessThan(1000);
  });

  it('retries a job whose handler throws, and refuses a payload that breaks its contract before it leaves', async () => {
    await sender.ensureQueue('retry', { retryLimit: 2, retryDelaySeconds: 0 });
    const attempts: number[] = [];
    worker.work('retry', [handler(ping, async (_p, ctx) => {
          attempts.push(ctx.retryCount);
          if (ctx.retryCount < 1) throw new Error('not yet');
        })], { pollSeconds: 0.5 });
    await sender.send(ping, 'retry', { n: 1 }, { requestId: 'retry-1' });
    await expect.poll(() => attempts, { timeout: 10_000 }).toEqual([0, 1]);
    await expect(sender.send(ping, 'retry', { n: 'one' } as unknown as { n: number }, { requestId: 'bad' })).rejects.toThrow(/expected number/);
  });

  it('answers a call with the handler’s result, and says when nobody answers', async () => {
    await sender.ensureQueue('rpc');
    await sender.ensureQueue('nobody');
    worker.work('rpc', [handler(ping, async (p) => ({ doubled: p.n * 2 }))], { pollSeconds: 30 });
    await expect(sender.call(ping, 'rpc', { n: 21 }, { requestId: 'call-1', timeoutMs: 5000 })).resolves.toEqual({ doubled: 42 });
    await expect(sender.call(ping, 'nobody', { n: 1 }, { requestId: 'call-2', timeoutMs: 300 })).rejects.toThrow('no answer from nobody within 300 ms');
  });

  it('hands jobs fetched together to a batch handler at once, and after it throws runs each on its own', async () => {
    await sender.ensureQueue('batch', { retryLimit: 0 });
    for (let n = 1; n <= 12; n++) await sender.send(ping, 'batch', { n }, { requestId: `b-${n}` });
    const batches: number[][] = [];
    const singles: number[] = [];
    let failOnce = true;
    worker.work(
      'batch',
      [handler(ping, async (p) => void singles.push(p.n), async (jobs) => {
            const ns = jobs.map((j) => j.payload.n);
            expect(jobs.map((j) => j.ctx.requestId)).toEqual(ns.map((n) => `b-${n}`));
            if (failOnce) {
              failOnce = false;
              throw new Error('one bad job in the batch');
            }
            batches.push(ns.sort((a, b) => a - b));
          })],
      { concurrency: 8, pollSeconds: 30 },
    );
    // All twelve waited: the first fetch takes eight in one batch, which throws and runs them one by one.
    await expect.poll(() => singles.length + batches.flat().length, { timeout: 10_000 }).toBe(12);
    expect(singles.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(batches).toEqual([[9, 10, 11, 12]]);
    // Every job is completed, those of the batch in one statement.
    await expect
      .poll(async () => (await db.pool.query(`SELECT state, count(*)::int AS n FROM ${db.schema}_boss.job WHERE name = 'batch' GROUP BY state`)).rows, { timeout: 5000 })
      .toEqual([{ state: 'completed', n: 12 }]);
  });

  it('gathers jobs sent close together for a moment, and hands them to the batch handler at once', async () => {
    await sender.ensureQueue('gather', { retryLimit: 0 });
    const batches: number[][] = [];
    worker.work(
      'gather',
      [handler(ping, async (p) => void batches.push([p.n]), async (jobs) => void batches.push(jobs.map((j) => j.payload.n).sort((a, b) => a - b)))],
      { concurrency: 8, pollSeconds: 30, gatherMs: 400 },
    );
    // An idle worker woken by the first waits for the other two, sent a little later each.
    for (let n = 1; n <= 3; n++) {
      await sender.send(ping, 'gather', { n }, { requestId: `g-${n}` });
      await new Promise((r) => setTimeout(r, 60));
    }
    await expect.poll(() => batches.flat().length, { timeout: 5000 }).toBe(3);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('sends a quiet job without waking anyone, and the worker’s poll takes it', async () => {
    await sender.ensureQueue('quiet');
    const { heard, listener } = await listening(wakeChannel('quiet'));
    try {
      const got: number[] = [];
      worker.work('quiet', [handler(ping, async (p) => void got.push(p.n))], { concurrency: 2, pollSeconds: 1 });
      await new Promise((r) => setTimeout(r, 300)); // the worker's first (empty) fetch is behind it
      await sender.send(ping, 'quiet', { n: 7 }, { requestId: 'q-7', quiet: true });
      await expect.poll(() => got, { timeout: 5000 }).toEqual([7]);
      await sender.send(ping, 'quiet', { n: 8 }, { requestId: 'q-8' });
      await expect.poll(() => got, { timeout: 5000 }).toEqual([7, 8]);
      expect(heard).toEqual([wakeChannel('quiet')]); // the second send's wake-up only
    } finally {
      await listener.end();
    }
  });

  it('works a queue made after its worker started, quietly, from the first job sent to it', async () => {
    const warnings: string[] = [];
    const early = await Jobs.start({
      connectionString: db.url,
      schema: `${db.schema}_boss`,
      log: createLogger('jobs-test', { write: (line: string) => void (line.includes('"warn"') && warnings.push(line)) }),
    });
    try {
      const got: number[] = [];
      early.work('late-made', [handler(ping, async (p) => void got.push(p.n))], { concurrency: 2, pollSeconds: 30 });
      await new Promise((r) => setTimeout(r, 300)); // its first fetch finds no queue
      await sender.ensureQueue('late-made');
      await sender.send(ping, 'late-made', { n: 1 }, { requestId: 'late-1' });
      await expect.poll(() => got, { timeout: 5000 }).toEqual([1]);
      expect(warnings).toEqual([]);
    } finally {
      await early.stop(500);
    }
  });

  it('sends inside the caller’s transaction: a rolled-back send leaves no job', async () => {
    await sender.ensureQueue('tx');
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await sender.send(ping, 'tx', { n: 1 }, { requestId: 'tx-1', db: client });
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM ${db.schema}_boss.job WHERE name = 'tx'`);
    expect(rows[0].n).toBe(0);
  });
});

describe('a send and its wake-up', () => {
  it('are one statement: pg-boss’s insert with the notification in it, which wakes a listener once per job', async () => {
    const schema = `${db.schema}_boss`;
    const plans = (await import('pg-boss/src/plans.js' as string)) as { default: Record<string, (s: string) => unknown> };
    const insert = plans.default.insertJob!(schema) as string;
    // Should pg-boss change its insert, this fails and the fused statement must be looked at again.
    const fused = withWakeUp(schema, insert, ['v1', 'v2'], 'aster_q_test');
    expect(fused).not.toBeNull();
    expect(fused!.values).toEqual(['v1', 'v2', 'aster_q_test']);
    expect(fused!.text).toMatch(/^WITH sent AS \(/);
    expect(withWakeUp(schema, 'SELECT 1', [], 'aster_q_test')).toBeNull();

    // Sent for real: every job is there, and a listener hears one wake-up per job on the queue's channel.
    await sender.ensureQueue('fused');
    const { heard, listener } = await listening(wakeChannel('fused'));
    try {
      for (let n = 1; n <= 3; n++) await sender.send(ping, 'fused', { n }, { requestId: `f-${n}` });
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await sender.send(ping, 'fused', { n: 4 }, { requestId: 'f-4', db: client });
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      await expect.poll(() => heard.length, { timeout: 5000 }).toBe(4);
      expect(new Set(heard)).toEqual(new Set([wakeChannel('fused')]));
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM ${schema}.job WHERE name = 'fused'`);
      expect(rows[0].n).toBe(4);
    } finally {
      await listener.end();
    }
  });
});

describe('jobs sent together', () => {
  it('go to each of their queues in one statement, waking each queue once, and a missing queue leaves no job', async () => {
    const schema = `${db.schema}_boss`;
    const plans = (await import('pg-boss/src/plans.js' as string)) as { default: Record<string, (s: string) => unknown> };
    // Should pg-boss change its insert of many jobs, this fails and the fused statement must be looked at again.
    expect(withWakeUps(schema, plans.default.insertJobs!(schema) as string, [1, 2], ['aster_q_a'])).not.toBeNull();
    expect(withWakeUps(schema, 'SELECT 1', [], ['aster_q_a'])).toBeNull();

    await sender.ensureQueue('many-a');
    await sender.ensureQueue('many-b');
    const a = await listening(wakeChannel('many-a'));
    const b = await listening(wakeChannel('many-b'));
    const got: number[] = [];
    worker.work('many-b', [handler(ping, async (p) => void got.push(p.n))], { pollSeconds: 30 });
    const inTransaction = async (fn: (client: pg.PoolClient) => Promise<void>) => {
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await fn(client);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    };
    const count = async (queue: string) =>
      (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.job WHERE name = $1`, [queue])).rows[0]!.n;
    try {
      await inTransaction((client) =>
        sender.sendMany(
          [
            { contract: ping, queue: 'many-a', payload: { n: 1 } },
            { contract: ping, queue: 'many-b', payload: { n: 2 } },
            { contract: ping, queue: 'many-a', payload: { n: 3 } },
            { contract: ping, queue: 'many-b', payload: { n: 4 } },
          ],
          { requestId: 'm-1', db: client },
        ),
      );
      expect(await count('many-a')).toBe(2);
      // The worker was woken (its poll is 30 s) and handed the parsed payloads.
      await expect.poll(() => [...got].sort(), { timeout: 5000 }).toEqual([2, 4]);
      await expect.poll(() => a.heard.length + b.heard.length, { timeout: 5000 }).toBe(2);
      expect(a.heard).toEqual([wakeChannel('many-a')]);
      expect(b.heard).toEqual([wakeChannel('many-b')]);

      // A payload that breaks its contract, or a queue nobody made: refused, and nothing of the transaction stays.
      await expect(
        inTransaction((client) => sender.sendMany([{ contract: ping, queue: 'many-a', payload: { n: 'x' } }], { requestId: 'm-2', db: client })),
      ).rejects.toThrow();
      await expect(
        inTransaction((client) =>
          sender.sendMany(
            [
              { contract: ping, queue: 'many-a', payload: { n: 5 } },
              { contract: ping, queue: 'many-nobody', payload: { n: 6 } },
            ],
            { requestId: 'm-3', db: client },
          ),
        ),
      ).rejects.toThrow('queue many-nobody does not exist');
      expect(await count('many-a')).toBe(2);
    } finally {
      await a.listener.end();
      await b.listener.end();
    }
  });
});
