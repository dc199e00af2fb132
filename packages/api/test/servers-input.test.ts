import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { createCaller, createContext } from '../src/index.ts';
import { useComputeStack, waitFor } from './compute-harness.ts';
import { expectError, silentLog, userSession } from './harness.ts';

const db = useTestDatabase();
// No hosts: accepted servers go to ERROR (no valid host), which is all these tests need of them.
const env = useComputeStack(db, { image: 'si-image' });

/** What a create writes: rows of every kind, and pg-boss jobs. */
async function footprint() {
  const { rows } = await db.pool.query<{ instances: number; ports: number; allocations: number; actions: number; jobs: number }>(
    `SELECT (SELECT count(*) FROM instances)::int AS instances, (SELECT count(*) FROM ports)::int AS ports,
            (SELECT count(*) FROM allocations)::int AS allocations, (SELECT count(*) FROM instance_actions)::int AS actions,
            (SELECT count(*) FROM "${db.schema}_boss".job)::int AS jobs`,
  );
  return rows[0]!;
}

/**
 * Waits until no job is waiting or running, so that counts taken next stand still; but for the conductor's next
 * sweep, always waiting (due in an hour here), and the network model's syncs, which no network worker works here.
 */
async function quiet() {
  await waitFor(async () => {
    const { rows } = await db.pool.query(
      `SELECT 1 FROM "${db.schema}_boss".job WHERE state IN ('created', 'retry', 'active') AND data->>'job' NOT IN ('sweepBuilds', 'syncNetworks') LIMIT 1`,
    );
    return rows.length === 0;
  }, 'the job queues to empty');
}

const exactly = (s: string) => new RegExp(`^${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

/** Expects the call to be refused as said (a string is the whole message), having written nothing. */
async function refused(call: () => Promise<unknown>, code: TRPCError['code'], message: RegExp | string) {
  await quiet();
  const before = await footprint();
  const error = await expectError(call(), code, typeof message === 'string' ? exactly(message) : message);
  expect(await footprint()).toEqual(before);
  return error;
}

async function member(name: string) {
  const s = await userSession(db.pool, env.stack.admin.api, { name, project: name, role: 'member' });
  return { ...s, api: env.stack.api(s.token) };
}

describe('servers.create refuses bad input, naming the problem, and leaves nothing behind', () => {
  it('refuses unknown, unusable and foreign flavors, images, networks and key pairs', async () => {
    const alice = await member('si-alice');
    const bob = await member('si-bob');
    const base = { name: 'si-a', flavorId: env.tiny, imageId: env.imageId };
    const missing = randomUUID();

    await refused(() => alice.api.servers.create({ ...base, flavorId: missing }), 'NOT_FOUND', `Flavor ${missing} not found`);
    await refused(() => alice.api.servers.create({ ...base, flavorId: 'm1.tiny' }), 'BAD_REQUEST', 'Invalid input: flavorId: must be an id (a UUID)');
    await refused(() => alice.api.servers.create({ ...base, imageId: missing }), 'NOT_FOUND', `Image ${missing} not found`);

    const queued = await env.stack.image('si-queued', { status: 'queued' });
    await refused(() => alice.api.servers.create({ ...base, imageId: queued }), 'CONFLICT', 'Image si-queued is queued, not active: upload its data first');

    // Bob's private image does not exist for Alice (not even queued or active is said).
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO images (name, project_id, visibility, status, disk_format, size_bytes, virtual_size) VALUES ('si-bob-private', $1, 'private', 'active', 'qcow2', 1, 1) RETURNING id`,
      [bob.project.id],
    );
    const bobsImage = rows[0]!.id;
    await refused(() => alice.api.servers.create({ ...base, imageId: bobsImage }), 'NOT_FOUND', `Image ${bobsImage} not found`);

    // A private flavor is unknown to a project without access, and usable once it has access.
    const secret = await env.stack.admin.api.flavors.create({ name: 'si-private', vcpus: 1, ramMb: 256, diskGb: 1, isPublic: false });
    await refused(() => alice.api.servers.create({ ...base, flavorId: secret.id }), 'NOT_FOUND', `Flavor ${secret.id} not found`);
    await env.stack.admin.api.flavors.addAccess({ id: secret.id, project: alice.project.name });
    const [onSecret] = await alice.api.servers.create({ ...base, name: 'si-private-ok', flavorId: secret.id });
    expect(onSecret!.flavor).toMatchObject({ id: secret.id, name: 'si-private', ramMb: 256 });

    await refused(() => alice.api.servers.create({ ...base, networks: [missing] }), 'NOT_FOUND', `Network ${missing} not found`);
    const bobsNet = await bob.api.networks.create({ name: 'si-bob-net', subnet: { cidr: '10.77.0.0/24' } });
    await refused(() => alice.api.servers.create({ ...base, networks: [bobsNet.id] }), 'NOT_FOUND', `Network ${bobsNet.id} not found`);
    const pub = (await alice.api.networks.list()).find((n) => n.name === 'public')!;
    await refused(() => alice.api.servers.create({ ...base, networks: [pub.id, pub.id.toUpperCase()] }), 'BAD_REQUEST', /asked for twice/);

    await refused(() => alice.api.servers.create({ ...base, keyName: 'si-nope' }), 'NOT_FOUND', 'Key pair si-nope not found');
    await refused(() => alice.api.servers.create({ ...base, keyName: '' }), 'BAD_REQUEST', /^Invalid input: keyName: /);
  });

  it('refuses a flavor below the image’s minimum memory or disk, naming both numbers', async () => {
    const carol = await member('si-carol');
    const big = await env.stack.image('si-needs-ram', { minRamMb: 1024 });
    await refused(
      () => carol.api.servers.create({ name: 'si-c', flavorId: env.tiny, imageId: big }),
      'BAD_REQUEST',
      'Flavor m1.tiny has 512 MB of RAM; image si-needs-ram needs at least 1024 MB',
    );
    const wide = await env.stack.image('si-needs-disk', { minDiskGb: 5 });
    await refused(
      () => carol.api.servers.create({ name: 'si-c', flavorId: env.tiny, imageId: wide }),
      'BAD_REQUEST',
      'Flavor m1.tiny has a 1 GB disk; image si-needs-disk needs at least 5 GB',
    );
  });

  it('refuses user data over 64 KiB, counting bytes, and takes exactly 64 KiB', async () => {
    const dave = await member('si-dave');
    const base = { name: 'si-d', flavorId: env.tiny, imageId: env.imageId };
    await refused(() => dave.api.servers.create({ ...base, userData: 'x'.repeat(65537) }), 'BAD_REQUEST', /userData: is 65537 bytes; at most 65536 bytes \(64 KiB\)/);
    // Two bytes a character in UTF-8: 32769 characters are over.
    await refused(() => dave.api.servers.create({ ...base, userData: 'é'.repeat(32769) }), 'BAD_REQUEST', /is 65538 bytes.*64 KiB/);
    const [ok] = await dave.api.servers.create({ ...base, userData: 'x'.repeat(65536) });
    expect(ok!.status).toBe('BUILD');

    // The limit in the message is the configured one.
    const small = createCaller(() =>
      createContext({ db: db.pool, token: dave.token, log: silentLog, jobs: env.stack.jobs, config: { maxUserDataBytes: 16 * 1024 } }),
    );
    await refused(() => small.servers.create({ ...base, userData: 'x'.repeat(16 * 1024 + 1) }), 'BAD_REQUEST', /at most 16384 bytes \(16 KiB\) are accepted/);
  });

  it('refuses bad names, counts and metadata', async () => {
    const erin = await member('si-erin');
    const base = { name: 'si-e', flavorId: env.tiny, imageId: env.imageId };
    const cases: [Record<string, unknown>, string][] = [
      [{ name: '' }, 'Invalid input: name: must not be empty'],
      [{ name: '   ' }, 'Invalid input: name: must not be empty'],
      [{ name: 'x'.repeat(256) }, 'Invalid input: name: must be at most 255 characters'],
      [{ name: 'bell\u0007' }, 'Invalid input: name: must not contain control characters'],
      [{ name: 'two\nlines' }, 'Invalid input: name: must not contain control characters'],
      [{ name: 'del\u007f' }, 'Invalid input: name: must not contain control characters'],
      [{ name: 'c1\u0085x' }, 'Invalid input: name: must not contain control characters'],
      [{ count: 0 }, 'Invalid input: count: must be at least 1'],
      [{ count: 101 }, 'Invalid input: count: must be at most 100'],
      [{ count: 1.5 }, 'Invalid input: count: must be a whole number'],
      [{ metadata: Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, 'v'])) }, 'Invalid input: metadata: at most 128 metadata items'],
      [{ metadata: { ['k'.repeat(256)]: 'v' } }, `Invalid input: metadata.${'k'.repeat(256)}: metadata keys must be at most 255 characters`],
      [{ metadata: { k: 'v'.repeat(256) } }, 'Invalid input: metadata.k: metadata values must be at most 255 characters'],
      [{ tags: ['a/b'] }, 'Invalid input: tags.0: tags must not contain , or /'],
      [{ tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, 'Invalid input: tags: at most 50 tags'],
    ];
    for (const [change, message] of cases) {
      const input = { ...base, ...change } as Parameters<typeof erin.api.servers.create>[0];
      await refused(() => erin.api.servers.create(input), 'BAD_REQUEST', message);
    }
    // The largest allowed are accepted.
    const metadata = Object.fromEntries(Array.from({ length: 128 }, (_, i) => [`k${i}`, 'v'.repeat(255)]));
    const made = await erin.api.servers.create({ ...base, name: 'x'.repeat(255), metadata, count: 2 });
    expect(made.map((s) => s.name)).toEqual([`${'x'.repeat(255)}-1`, `${'x'.repeat(255)}-2`]);
    expect(Object.keys(made[0]!.metadata)).toHaveLength(128);
  });
});

describe('quotas', () => {
  it('refuses what would pass a limit, naming each resource over and by how much', async () => {
    const fay = await member('si-fay');
    const base = { name: 'si-f', flavorId: env.tiny, imageId: env.imageId };
    const set = (limits: Record<string, number | null>) => env.stack.admin.api.quotas.set({ project: fay.project.name, limits });

    await set({ instances: 2 });
    await refused(() => fay.api.servers.create({ ...base, count: 3 }), 'FORBIDDEN', 'Quota exceeded for instances: 3 requested, 0 of 2 in use (1 over the limit)');
    await set({ instances: null, cores: 1 });
    await refused(() => fay.api.servers.create({ ...base, count: 2 }), 'FORBIDDEN', 'Quota exceeded for cores: 2 requested, 0 of 1 in use (1 over the limit)');
    await set({ cores: null, ramMb: 1000 });
    await refused(() => fay.api.servers.create({ ...base, count: 2 }), 'FORBIDDEN', 'Quota exceeded for ramMb: 1024 requested, 0 of 1000 in use (24 over the limit)');
    await set({ instances: 1, cores: 1, ramMb: null });
    await refused(
      () => fay.api.servers.create({ ...base, count: 3 }),
      'FORBIDDEN',
      'Quota exceeded for instances: 3 requested, 0 of 1 in use (2 over the limit); cores: 3 requested, 0 of 1 in use (2 over the limit)',
    );

    // What is in use counts, whatever its status (this one goes to ERROR: there is no host).
    const [first] = await fay.api.servers.create(base);
    await refused(() => fay.api.servers.create(base), 'FORBIDDEN', 'Quota exceeded for instances: 1 requested, 1 of 1 in use (1 over the limit); cores: 1 requested, 1 of 1 in use (1 over the limit)');
    // A deleted server gives its share back.
    await waitFor(async () => (await fay.api.servers.get({ id: first!.id })).taskState === null, 'the first server to settle');
    await fay.api.servers.delete({ id: first!.id });
    await expect(fay.api.servers.create(base)).resolves.toHaveLength(1);
  });

  it('lets exactly the quota through when 50 creates race', async () => {
    const gus = await member('si-gus');
    await env.stack.admin.api.quotas.set({ project: gus.project.name, limits: { instances: 10 } });
    await quiet();
    const before = await footprint();
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => gus.api.servers.create({ name: `si-race-${i}`, flavorId: env.tiny, imageId: env.imageId })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refusals = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as TRPCError] : []));
    expect(ok).toHaveLength(10);
    expect(refusals).toHaveLength(40);
    for (const e of refusals) {
      expect(e).toBeInstanceOf(TRPCError);
      expect({ code: e.code, message: e.message }).toEqual({ code: 'FORBIDDEN', message: expect.stringMatching(/^Quota exceeded for instances: 1 requested, 10 of 10 in use/) });
    }
    const { rows } = await db.pool.query<{ n: number; actions: number; jobs: number }>(
      `SELECT count(*)::int AS n,
              (SELECT count(*) FROM instance_actions a JOIN instances i ON i.id = a.instance_id WHERE i.project_id = $1)::int AS actions,
              (SELECT count(*) FROM "${db.schema}_boss".job j JOIN instances i ON i.id::text = j.data->'payload'->'instanceIds'->>0
                WHERE i.project_id = $1 AND j.data->>'job' = 'scheduleInstances')::int AS jobs
         FROM instances WHERE project_id = $1`,
      [gus.project.id],
    );
    expect(rows[0]).toEqual({ n: 10, actions: 10, jobs: 10 });
    expect((await footprint()).instances - before.instances).toBe(10);
  });
});
