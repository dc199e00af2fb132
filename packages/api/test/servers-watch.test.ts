import { isTrackedEnvelope } from '@trpc/server';
import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { createCaller, createContext } from '../src/index.ts';
import type { Server } from '../src/servers/view.ts';
import { settledChange } from '../src/compute/changes.ts';
import { useComputeStack, waitForStatus } from './compute-harness.ts';
import { expectError, silentLog, userSession } from './harness.ts';

const db = useTestDatabase();
const env = useComputeStack(db, { host: 'sw-host-1', image: 'sw-image' });

interface Event {
  id: string;
  data: Server;
}

/**
 * servers.watch through a caller of its own, with an abort signal: the generator waits for changes between
 * events, so it is stopped by aborting, and only then closed. Through a caller the generator starts on the
 * first pull, so one is made at once (over HTTP the stream pulls as soon as it opens).
 */
async function watch(token: string, input: { lastEventId?: string } = {}) {
  const controller = new AbortController();
  const api = createCaller(() => createContext({ db: db.pool, token, log: silentLog, jobs: env.stack.jobs, changes: env.stack.changes }), {
    signal: controller.signal,
  });
  const iterator = (await api.servers.watch(input))[Symbol.asyncIterator]();
  let pending: ReturnType<typeof iterator.next> | null = iterator.next();
  return {
    /** The next event; fails the test when none comes within `timeoutMs`. */
    async next(timeoutMs = 10_000): Promise<Event> {
      const step = pending ?? iterator.next();
      pending = null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const result = await Promise.race([step, timeout]).finally(() => clearTimeout(timer));
      if (result === 'timeout') {
        pending = step;
        throw new Error(`no event within ${timeoutMs} ms`);
      }
      if (result.done) throw new Error('the watch ended');
      const value: unknown = result.value;
      // Through a caller, tRPC hands over the tracked envelope itself: [id, data, marker].
      expect(isTrackedEnvelope(value)).toBe(true);
      const [id, data] = value as unknown as [string, Server];
      return { id, data };
    },
    /** Whether an event is ready or arrives within `ms`, without taking it. */
    async ready(ms: number): Promise<boolean> {
      pending ??= iterator.next();
      return Promise.race([pending.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
    },
    /** Events until `done` says the last one is reached, that one included. */
    async until(done: (e: Event, seen: Event[]) => boolean): Promise<Event[]> {
      const seen: Event[] = [];
      for (;;) {
        const e = await this.next();
        seen.push(e);
        if (done(e, seen)) return seen;
      }
    },
    async close() {
      controller.abort();
      await pending;
      await iterator.return?.(undefined);
    },
  };
}

/** The latest change number so far: a watch resumed from it sees exactly what happens next. */
async function now(): Promise<string> {
  const { rows } = await db.pool.query<{ seq: string }>(`SELECT COALESCE(max(change_seq), 0)::text AS seq FROM instances`);
  return rows[0]!.seq;
}

const idle = (id: string, status: string) => (e: Event) => e.data.id === id && e.data.status === status && e.data.taskState === null;
const seqs = (events: Event[]) => events.map((e) => BigInt(e.id));
const increasing = (values: bigint[]) => values.every((v, i) => i === 0 || v > values[i - 1]!);

describe('servers.watch', () => {
  it('shows a tenant its server from BUILD to ACTIVE, never another project’s; an administrator sees both', async () => {
    const alice = await userSession(db.pool, env.stack.admin.api, { name: 'sw-alice', project: 'sw-a', role: 'member' });
    const bob = await userSession(db.pool, env.stack.admin.api, { name: 'sw-bob', project: 'sw-b', role: 'member' });
    const from = await now();
    const wa = await watch(alice.token, { lastEventId: from });
    const wb = await watch(bob.token, { lastEventId: from });
    const wadmin = await watch(env.stack.admin.token, { lastEventId: from });
    try {
      // Bob's server changes first and all the way through: were it visible to Alice, it would reach her first.
      const [sb] = await env.stack.api(bob.token).servers.create({ name: 'sw-b-1', flavorId: env.tiny, imageId: env.imageId });
      const [sa] = await env.stack.api(alice.token).servers.create({ name: 'sw-a-1', flavorId: env.tiny, imageId: env.imageId });

      const forAlice = await wa.until(idle(sa!.id, 'ACTIVE'));
      // Each event is the server as it is when read, so quick steps may be folded into one.
      expect(forAlice[0]!.data).toMatchObject({ id: sa!.id, status: 'BUILD', vmState: 'building' });
      expect(new Set(forAlice.map((e) => e.data.id))).toEqual(new Set([sa!.id]));
      // BUILD until the host has it running, then ACTIVE; ids are the change numbers, rising.
      const statuses = forAlice.map((e) => e.data.status);
      expect(statuses.slice(0, -1).every((s) => s === 'BUILD')).toBe(true);
      expect(forAlice.at(-1)!.data).toMatchObject({ status: 'ACTIVE', powerState: 'RUNNING' });
      expect(forAlice.every((e) => e.id === e.data.changeSeq)).toBe(true);
      expect(increasing(seqs(forAlice))).toBe(true);
      expect(forAlice.every((e) => !('host' in e.data))).toBe(true);

      const forBob = await wb.until(idle(sb!.id, 'ACTIVE'));
      expect(new Set(forBob.map((e) => e.data.id))).toEqual(new Set([sb!.id]));
      expect(forBob[0]!.data.status).toBe('BUILD');

      const both = new Set<string>();
      const forAdmin = await wadmin.until((e, seen) => {
        if (idle(sa!.id, 'ACTIVE')(e) || idle(sb!.id, 'ACTIVE')(e)) both.add(e.data.id);
        return both.size === 2 && seen.length > 0;
      });
      expect(new Set(forAdmin.map((e) => e.data.id))).toEqual(new Set([sa!.id, sb!.id]));
      expect(increasing(seqs(forAdmin))).toBe(true);
      expect(forAdmin.filter((e) => e.data.status === 'ACTIVE').every((e) => e.data.host === 'sw-host-1')).toBe(true);

      // Later changes of Bob's still do not reach Alice: her next event is her own rename.
      await env.stack.api(bob.token).servers.update({ id: sb!.id, name: 'sw-b-1-renamed' });
      await env.stack.api(alice.token).servers.update({ id: sa!.id, name: 'sw-a-1-renamed' });
      const next = await wa.until((e) => e.data.name === 'sw-a-1-renamed');
      expect(next.map((e) => e.data.id)).toEqual([sa!.id]);
    } finally {
      await Promise.all([wa.close(), wb.close(), wadmin.close()]);
    }
  });

  it('resumes from the last event id with exactly the changes missed, in order', async () => {
    const carol = await userSession(db.pool, env.stack.admin.api, { name: 'sw-carol', project: 'sw-c', role: 'member' });
    const dave = await userSession(db.pool, env.stack.admin.api, { name: 'sw-dave', project: 'sw-d', role: 'member' });
    const api = env.stack.api(carol.token);
    const servers = await api.servers.create({ name: 'sw-c', flavorId: env.tiny, imageId: env.imageId, count: 3 });
    const [x, y, z] = servers.map((s) => s.id) as [string, string, string];
    for (const s of servers) await waitForStatus(api, s.id, 'ACTIVE');
    const [other] = await env.stack.api(dave.token).servers.create({ name: 'sw-d-1', flavorId: env.tiny, imageId: env.imageId });
    await waitForStatus(env.stack.api(dave.token), other!.id, 'ACTIVE');

    // A new watch starts from the latest change when it starts: poke until it has, and it shows no history.
    const before = await now();
    const first = await watch(carol.token);
    let last: Event;
    try {
      for (let i = 1; !(await first.ready(100)); i++) await api.servers.update({ id: x, name: `sw-c-ping-${i}` });
      last = await first.next();
      expect(last.data).toMatchObject({ id: x, name: expect.stringMatching(/^sw-c-ping-\d+$/) });
      expect(BigInt(last.id)).toBeGreaterThan(BigInt(before));
    } finally {
      await first.close();
    }

    // Missed while away: y, another project's server, z, x again (in that order of commits).
    await api.servers.update({ id: y, metadata: { role: 'db' } });
    await env.stack.api(dave.token).servers.update({ id: other!.id, name: 'sw-d-1b' });
    await api.servers.update({ id: z, tags: ['blue'] });
    await api.servers.update({ id: x, name: 'sw-c-x2' });

    const resumed = await watch(carol.token, { lastEventId: last.id });
    try {
      const missed = [await resumed.next(), await resumed.next(), await resumed.next()];
      expect(missed.map((e) => e.data.id)).toEqual([y, z, x]);
      expect(missed.map((e) => [e.data.metadata, e.data.tags, e.data.name])).toEqual([
        [{ role: 'db' }, [], 'sw-c-2'],
        [{}, ['blue'], 'sw-c-3'],
        [{}, [], 'sw-c-x2'],
      ]);
      expect(increasing([BigInt(last.id), ...seqs(missed)])).toBe(true);
      // Nothing else was pending: the next event is a change made now.
      await api.servers.update({ id: z, name: 'sw-c-z' });
      expect((await resumed.next()).data).toMatchObject({ id: z, name: 'sw-c-z' });
    } finally {
      await resumed.close();
    }

    // Resuming from the same id again replays the same changes (the server's latest state each).
    const again = await watch(carol.token, { lastEventId: last.id });
    try {
      const replay = [await again.next(), await again.next(), await again.next()];
      expect(replay.map((e) => e.data.id)).toEqual([y, x, z]);
    } finally {
      await again.close();
    }
  });

  it('streams a delete as DELETED, lets a reader watch, and refuses a malformed event id', async () => {
    const erin = await userSession(db.pool, env.stack.admin.api, { name: 'sw-erin', project: 'sw-e', role: 'member' });
    const reader = await userSession(db.pool, env.stack.admin.api, { name: 'sw-erin-reader', project: 'sw-e', role: 'reader' });
    const api = env.stack.api(erin.token);
    const [s] = await api.servers.create({ name: 'sw-e-1', flavorId: env.tiny, imageId: env.imageId });
    await waitForStatus(api, s!.id, 'ACTIVE');
    const w = await watch(reader.token, { lastEventId: await now() });
    try {
      await api.servers.delete({ id: s!.id });
      const events = await w.until((e) => e.data.status === 'DELETED');
      expect(events.every((e) => e.data.id === s!.id)).toBe(true);
      expect(events.at(-1)!.data).toMatchObject({ id: s!.id, vmState: 'deleted', addresses: {} });
      expect(events.at(-1)!.data.deletedAt).not.toBeNull();
    } finally {
      await w.close();
    }
    await expectError(env.stack.api(erin.token).servers.watch({ lastEventId: 'abc' }), 'BAD_REQUEST', /lastEventId: must be a change number/);
  });

  it('delivers a change that commits after a later-numbered one', async () => {
    const fred = await userSession(db.pool, env.stack.admin.api, { name: 'sw-fred', project: 'sw-f', role: 'member' });
    const api = env.stack.api(fred.token);
    const [a, b] = await api.servers.create({ name: 'sw-f', flavorId: env.tiny, imageId: env.imageId, count: 2 });
    await waitForStatus(api, a!.id, 'ACTIVE');
    await waitForStatus(api, b!.id, 'ACTIVE');
    const w = await watch(fred.token, { lastEventId: await now() });
    const client = await db.pool.connect();
    try {
      // A slow transaction takes its change number first and commits last (the conductor's are like this).
      await client.query('BEGIN');
      await client.query(`UPDATE instances SET metadata = '{"slow":"yes"}' WHERE id = $1`, [a!.id]);
      await api.servers.update({ id: b!.id, name: 'sw-f-fast' });
      await client.query('COMMIT');
      // Both arrive, in the order of their numbers: the fast one waits for the slow one to end.
      const events = await w.until((_, seen) => seen.length === 2);
      expect(events.map((e) => e.data.id)).toEqual([a!.id, b!.id]);
      expect(events[0]!.data.metadata).toEqual({ slow: 'yes' });
      expect(increasing(seqs(events))).toBe(true);
    } finally {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
      await w.close();
    }
  });

  it('settles a change number only when no open transaction can still commit one below it', async () => {
    const gina = await userSession(db.pool, env.stack.admin.api, { name: 'sw-gina', project: 'sw-g', role: 'member' });
    const api = env.stack.api(gina.token);
    const [s] = await api.servers.create({ name: 'sw-g-1', flavorId: env.tiny, imageId: env.imageId });
    await waitForStatus(api, s!.id, 'ACTIVE');
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ seq: string }>(`UPDATE instances SET metadata = '{"held":"1"}' WHERE id = $1 RETURNING change_seq::text AS seq`, [s!.id]);
      let settled: bigint | null = null;
      const waiting = settledChange(db.pool).then((v) => (settled = v));
      await new Promise((r) => setTimeout(r, 200));
      expect(settled).toBeNull();
      await client.query('COMMIT');
      expect(await waiting).toBeGreaterThanOrEqual(BigInt(rows[0]!.seq));

      // A transaction left open is waited for only so long, then reported and passed over.
      await client.query('BEGIN');
      await client.query(`UPDATE instances SET metadata = '{}' WHERE id = $1`, [s!.id]);
      const stalls: string[][] = [];
      const ignore = new Set<string>();
      const started = Date.now();
      await settledChange(db.pool, { maxWaitMs: 150, ignore, onStall: (h) => stalls.push(h) });
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      expect(stalls).toHaveLength(1);
      expect(ignore.size).toBe(1);
      const again = Date.now();
      await settledChange(db.pool, { maxWaitMs: 150, ignore, onStall: (h) => stalls.push(h) });
      expect(Date.now() - again).toBeLessThan(150);
      expect(stalls).toHaveLength(1);
      await client.query('COMMIT');
    } finally {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
    }
  });
});
