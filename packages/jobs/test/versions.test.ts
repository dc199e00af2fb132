import { useTestDatabase } from '@aster/db/testing';
import { createLogger } from '@aster/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { handler, job, Jobs, parseVersionCaps, VersionCaps, type JobContext } from '../src/index.ts';

const db = useTestDatabase({ migrate: false });
const schema = () => `${db.schema}_boss`;
/** The worker's log lines, parsed. */
const lines: { level: string; msg: string; job?: string; version?: number; jobId?: string; message?: string }[] = [];
const log = createLogger('jobs-test', { write: (line: string) => void lines.push(JSON.parse(line)) });
const quiet = createLogger('jobs-test', { write: () => {} });

// One job at three versions, as three releases of the code would declare it. Version 2 added `loud` (optional,
// so version 1's payloads still parse); version 3 made `to` a list.
const greetV1 = job('greet', 1, z.object({ to: z.string() }));
const greetV2 = job('greet', 2, z.object({ to: z.string(), loud: z.boolean().optional() }), {
  accepts: [1, 2],
  // A loud greeting cannot be said to a version 1 receiver, which would greet quietly.
  downgrade: (p, to) => (to === 1 && !p.loud ? { to: p.to } : null),
});
const greetV3 = job('greet', 3, z.object({ to: z.array(z.string()), loud: z.boolean().optional() }), { accepts: [2, 3] });

let sender: Jobs;
let worker: Jobs;
beforeAll(async () => {
  sender = await Jobs.start({ connectionString: db.url, log: quiet, schema: schema() });
  worker = await Jobs.start({ connectionString: db.url, log, schema: schema() });
});
afterAll(async () => {
  await worker?.stop(500);
  await sender?.stop(500);
});

/** A queue's jobs as pg-boss keeps them. */
const jobsOf = async (queue: string) =>
  (await db.pool.query(`SELECT data->>'job' AS job, (data->>'v')::int AS v, data->'payload' AS payload, state, output, retry_count AS "retryCount" FROM ${schema()}.job WHERE name = $1 ORDER BY created_on`, [queue])).rows;

describe('a job whose version a receiver does not accept', () => {
  it('fails at once, without retry, saying which job, which version and which versions are accepted, and is logged as an error', async () => {
    await sender.ensureQueue('v-newer', { retryLimit: 3, retryDelaySeconds: 0 });
    const seen: unknown[] = [];
    worker.work('v-newer', [handler(greetV2, async (p) => void seen.push(p))], { pollSeconds: 0.5 });
    await sender.send(greetV3, 'v-newer', { to: ['a', 'b'] }, { requestId: 'too-new' });
    await sender.send(greetV2, 'v-newer', { to: 'c' }, { requestId: 'fine' });
    const message = 'job greet version 3 is not accepted on queue v-newer, which takes versions 1 to 2';
    await expect.poll(() => jobsOf('v-newer'), { timeout: 5000 }).toEqual([
      { job: 'greet', v: 3, payload: { to: ['a', 'b'] }, state: 'failed', output: { message }, retryCount: 0 },
      { job: 'greet', v: 2, payload: { to: 'c' }, state: 'completed', output: null, retryCount: 0 },
    ]);
    expect(seen).toEqual([{ to: 'c' }]);
    const refused = lines.filter((l) => l.msg === 'job refused' && l.job === 'greet' && l.version === 3);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ level: 'error', message });
    // It stays failed: its queue's retries do not bring it back.
    await new Promise((r) => setTimeout(r, 1200));
    expect((await jobsOf('v-newer'))[0]).toMatchObject({ state: 'failed', retryCount: 0 });
  });

  it('fails when older than the oldest accepted version too', async () => {
    await sender.ensureQueue('v-older');
    worker.work('v-older', [handler(greetV3, async () => {})], { pollSeconds: 30 });
    await sender.send(greetV1, 'v-older', { to: 'a' }, { requestId: 'too-old' });
    await expect.poll(() => jobsOf('v-older'), { timeout: 5000 }).toMatchObject([
      { v: 1, state: 'failed', output: { message: 'job greet version 1 is not accepted on queue v-older, which takes versions 2 to 3' } },
    ]);
  });

  it('is handled when within the range, and the handler is told the version it came in', async () => {
    await sender.ensureQueue('v-within');
    const seen: { payload: unknown; version: number }[] = [];
    worker.work('v-within', [handler(greetV2, async (p, ctx: JobContext) => void seen.push({ payload: p, version: ctx.version }))], { pollSeconds: 30 });
    await sender.send(greetV1, 'v-within', { to: 'old' }, { requestId: 'v1' });
    await expect.poll(() => seen, { timeout: 5000 }).toEqual([{ payload: { to: 'old' }, version: 1 }]);
    await expect.poll(() => jobsOf('v-within'), { timeout: 5000 }).toMatchObject([{ v: 1, state: 'completed' }]);
  });
});

describe('a job no handler here may run', () => {
  it('fails at once, naming it, when its name has no handler on the queue, or its payload breaks its contract', async () => {
    await sender.ensureQueue('v-unknown', { retryLimit: 3, retryDelaySeconds: 0 });
    // A sender whose contract of `other` is looser than the receiver's: its payload leaves, and is refused on arrival.
    const looseOther = job('other', 1, z.object({ n: z.unknown() }));
    const strictOther = job('other', 1, z.object({ n: z.number() }));
    worker.work('v-unknown', [handler(greetV2, async () => {}), handler(strictOther, async () => {})], { pollSeconds: 0.5 });
    await sender.send(job('nobody', 1, z.object({})), 'v-unknown', {}, { requestId: 'unknown' });
    await sender.send(looseOther, 'v-unknown', { n: 'seven' }, { requestId: 'bad' });
    await expect.poll(() => jobsOf('v-unknown'), { timeout: 5000 }).toEqual([
      { job: 'nobody', v: 1, payload: {}, state: 'failed', output: { message: 'job nobody version 1 has no handler on queue v-unknown' }, retryCount: 0 },
      {
        job: 'other',
        v: 1,
        payload: { n: 'seven' },
        state: 'failed',
        output: { message: 'job other version 1: bad payload: n: Invalid input: expected number, received string' },
        retryCount: 0,
      },
    ]);
    expect(lines.filter((l) => l.msg === 'job refused' && ['nobody', 'other'].includes(l.job ?? '')).map((l) => l.level)).toEqual(['error', 'error']);
  });

  it('fails alone when it came in a batch, the others of the batch handled together', async () => {
    await sender.ensureQueue('v-batch', { retryLimit: 0 });
    for (const [n, contract] of [[1, greetV2], [2, greetV3], [3, greetV2]] as const) {
      await sender.send(contract as typeof greetV2, 'v-batch', (contract === greetV3 ? { to: [`b${n}`] } : { to: `b${n}` }) as never, { requestId: `b${n}` });
    }
    const batches: string[][] = [];
    worker.work('v-batch', [handler(greetV2, async () => {}, async (jobs) => void batches.push(jobs.map((j) => j.payload.to)))], { pollSeconds: 30 });
    await expect.poll(() => jobsOf('v-batch'), { timeout: 5000 }).toMatchObject([
      { v: 2, state: 'completed' },
      { v: 3, state: 'failed' },
      { v: 2, state: 'completed' },
    ]);
    expect(batches).toEqual([['b1', 'b3']]);
  });

  it('answers a call with the reason at once, not at the call’s timeout', async () => {
    await sender.ensureQueue('v-call');
    worker.work('v-call', [handler(greetV2, async (p) => `hello ${p.to}`)], { pollSeconds: 30 });
    const started = performance.now();
    await expect(sender.call(greetV3, 'v-call', { to: ['x'] }, { requestId: 'call', timeoutMs: 20_000 })).rejects.toThrow(
      'job greet version 3 is not accepted on queue v-call, which takes versions 1 to 2',
    );
    expect(performance.now() - started).toBeLessThan(5000);
    await expect(sender.call(greetV2, 'v-call', { to: 'y' }, { requestId: 'call-2', timeoutMs: 5000 })).resolves.toBe('hello y');
  });
});

describe('a sender capped below a contract’s version', () => {
  it('writes the payload in the older version’s form, for every queue or for one queue, or for one send', async () => {
    const capped = await Jobs.start({ connectionString: db.url, log: quiet, schema: schema(), versionCaps: [{ job: 'greet', version: 1 }] });
    try {
      await capped.ensureQueue('cap-all');
      await capped.ensureQueue('cap-upgraded');
      const seen: unknown[] = [];
      // An old receiver, of version 1 only, takes what the capped sender sends.
      worker.work('cap-all', [handler(greetV1, async (p) => void seen.push(p))], { pollSeconds: 30 });
      await capped.send(greetV2, 'cap-all', { to: 'old host', loud: false }, { requestId: 'c1' });
      await expect.poll(() => seen, { timeout: 5000 }).toEqual([{ to: 'old host' }]);
      expect(await jobsOf('cap-all')).toMatchObject([{ v: 1, payload: { to: 'old host' }, state: 'completed' }]);

      // One queue's own cap rules over the cap for all: an upgraded host gets version 2.
      capped.versionCaps.set('greet', 2, 'cap-upgraded');
      await capped.send(greetV2, 'cap-upgraded', { to: 'new host', loud: true }, { requestId: 'c2' });
      // The caller caps one send, below every other cap.
      await sender.send(greetV2, 'cap-upgraded', { to: 'asked', loud: false }, { requestId: 'c3', version: 1 });
      expect(await jobsOf('cap-upgraded')).toMatchObject([
        { v: 2, payload: { to: 'new host', loud: true } },
        { v: 1, payload: { to: 'asked' } },
      ]);
      // The cap lifted, the contract's own version goes again.
      capped.versionCaps.set('greet', null);
      await capped.send(greetV2, 'cap-all', { to: 'again', loud: true }, { requestId: 'c4' });
      await expect.poll(() => seen, { timeout: 5000 }).toHaveLength(1);
      await expect.poll(async () => (await jobsOf('cap-all')).map((j) => j.v), { timeout: 5000 }).toEqual([1, 2]);
    } finally {
      await capped.stop(500);
    }
  });

  it('refuses to send, naming the job, the queue and both versions, when the payload has no older form or the contract none at all', async () => {
    const capped = await Jobs.start({
      connectionString: db.url,
      log: quiet,
      schema: schema(),
      versionCaps: parseVersionCaps('greet=1, other@cap-none=1'),
    });
    try {
      await capped.ensureQueue('cap-none');
      await expect(capped.send(greetV2, 'cap-none', { to: 'x', loud: true }, { requestId: 'r1' })).rejects.toThrow(
        'job greet version 2 cannot be sent to cap-none, which is capped at version 1: this payload has no version 1 form',
      );
      capped.versionCaps.set('greet', 2);
      await expect(capped.send(greetV3, 'cap-none', { to: ['x'] }, { requestId: 'r2' })).rejects.toThrow(
        'job greet version 3 cannot be sent to cap-none, which is capped at version 2: greet has no older form',
      );
      // Nothing of a refused send is left, in the caller's transaction or out of it.
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await expect(
          capped.sendMany(
            [
              { contract: greetV1, queue: 'cap-none', payload: { to: 'fine' } },
              { contract: greetV3, queue: 'cap-none', payload: { to: ['not'] } },
            ],
            { requestId: 'r3', db: client },
          ),
        ).rejects.toThrow('cannot be sent');
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      expect(await jobsOf('cap-none')).toEqual([]);
    } finally {
      await capped.stop(500);
    }
  });
});

describe('version caps and contracts, as written', () => {
  it('read caps from a setting’s text, and refuse anything else', () => {
    expect(parseVersionCaps('')).toEqual([]);
    expect(parseVersionCaps('buildInstance=1, buildInstance@compute.host-7=2')).toEqual([
      { job: 'buildInstance', version: 1 },
      { job: 'buildInstance', version: 2, queue: 'compute.host-7' },
    ]);
    expect(() => parseVersionCaps('buildInstance=0')).toThrow('version cap "buildInstance=0" is not job=version or job@queue=version');
    expect(() => parseVersionCaps('buildInstance')).toThrow(/is not job=version/);
    const caps = new VersionCaps(parseVersionCaps('a=1,a@q=3'));
    expect([caps.capOf('a', 'q'), caps.capOf('a', 'r'), caps.capOf('b', 'q')]).toEqual([3, 1, undefined]);
    expect(() => caps.set('a', 1.5)).toThrow(/whole number/);
  });

  it('say a contract whose version is outside its own accepted range', () => {
    expect(() => job('x', 3, z.object({}), { accepts: [1, 2] })).toThrow('job x: version 3 is outside the versions it accepts (1 to 2)');
    expect(() => job('x', 0, z.object({}))).toThrow(/not a whole number/);
    expect(job('x', 2, z.object({}))).not.toHaveProperty('accepts');
  });
});
