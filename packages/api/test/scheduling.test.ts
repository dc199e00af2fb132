import { useTestDatabase } from '@aster/db/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { computeQueue } from '@aster/jobs';
import { onActionResult, onBuildProgress, onBuildResult, onBuildResults } from '../src/workers/conductor.ts';
import { sweep } from '../src/index.ts';
import { computeStack, waitFor, waitForStatus, type ComputeStack } from './compute-harness.ts';
import { userSession } from './harness.ts';

const db = useTestDatabase();
let stack: ComputeStack;
let imageId: string;
let tiny: string;
let tenant: Awaited<ReturnType<typeof userSession>>;
let api: ReturnType<ComputeStack['api']>;

beforeAll(async () => {
  stack = await computeStack(db);
  imageId = await stack.image('sch-image');
  tiny = await stack.flavor('m1.tiny');
  tenant = await userSession(db.pool, stack.admin.api, { name: 'sch-alice', project: 'sch-project', role: 'member' });
  api = stack.api(tenant.token);
  await stack.admin.api.quotas.set({ project: 'sch-project', limits: { instances: 100, cores: 100, ramMb: -1 } });
}, 30_000);
afterAll(() => stack?.stop());

// Each test brings its own hosts and takes them out of rotation after, so that the next one sees only its own.
afterEach(() => stack.retireAll());

/** What an instance still holds: allocation rows (by host) and ports. */
async function held(instanceId: string) {
  const { rows } = await db.pool.query<{ host: string; n: number }>(
    `SELECT rp.name AS host, count(*)::int AS n FROM allocations a JOIN resource_providers rp ON rp.id = a.provider_id
      WHERE a.consumer_id = $1 GROUP BY rp.name ORDER BY rp.name`,
    [instanceId],
  );
  const ports = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ports WHERE instance_id = $1', [instanceId]);
  return { allocations: Object.fromEntries(rows.map((r) => [r.host, r.n])), ports: ports.rows[0]!.n };
}

async function launch(name: string, flavorId = tiny) {
  const [server] = await api.servers.create({ name, flavorId, imageId });
  return server!;
}

const createAction = async (id: string, asAdmin = true) => (await (asAdmin ? stack.admin.api : api).servers.actions({ id })).find((a) => a.action === 'create')!;

/**
 * Ages a host's last heartbeat and the instance's task by two minutes: the sweep takes a build for lost when its
 * host has been silent and the build has run for longer than the down time.
 */
async function twoMinutesAgo(host: string, instanceId: string) {
  await db.pool.query(`UPDATE services SET last_seen_at = now() - interval '2 minutes' WHERE host = $1 AND binary_name = 'aster-compute'`, [host]);
  await db.pool.query(`UPDATE instances SET task_started_at = now() - interval '2 minutes' WHERE id = $1`, [instanceId]);
}

describe('no valid host', () => {
  it('puts the server in ERROR saying why by group of hosts, names hosts only to administrators, and holds nothing', async () => {
    await stack.addHost('sch-small-1', { ramMb: 4096 });
    await stack.addHost('sch-small-2', { ramMb: 4096 });
    await stack.addHost('sch-off');
    const off = (await stack.admin.api.services.list()).find((s) => s.host === 'sch-off' && s.binary === 'aster-compute')!;
    await stack.admin.api.services.disable({ id: off.id, reason: 'maintenance' });

    const server = await launch('too big', await stack.flavor('m1.large'));
    const failed = await waitForStatus(api, server.id, 'ERROR');
    const message = 'No valid host: Compute: 1 of 3 hosts is disabled: maintenance; RAM: 2 hosts lack 8192 MB of free RAM, they have at most 3584 MB free';
    expect(failed.fault).toMatchObject({ code: 500, message, details: null });
    const asAdmin = await stack.admin.api.servers.get({ id: server.id });
    expect(asAdmin.fault?.details).toBe(
      'No valid host: Compute: 1 of 3 hosts (sch-off) is disabled: maintenance; RAM: 2 hosts (sch-small-1, sch-small-2) lack 8192 MB of free RAM, they have at most 3584 MB free',
    );
    expect(asAdmin.fault?.explanation?.filters.slice(0, 4).map((f) => [f.filter, f.entered, f.removed])).toEqual([
      ['Retry', 3, 0],
      ['AvailabilityZone', 3, 0],
      ['Compute', 3, 1],
      ['RAM', 2, 2],
    ]);
    expect(failed.fault?.explanation?.filters.flatMap((f) => f.reasons.map((r) => r.hosts))).toEqual([undefined, undefined]);
    expect(asAdmin.host).toBeNull();

    const create = await createAction(server.id, false);
    expect(create.finishedAt).not.toBeNull();
    expect(create.events).toContainEqual(expect.objectContaining({ event: 'schedule', result: 'Error', details: message }));
    expect(JSON.stringify(create)).not.toMatch(/sch-(small|off)/);
    expect(await held(server.id)).toEqual({ allocations: {}, ports: 0 });

  });
});

describe('rescheduling', () => {
  it('moves a build away from a failing host to the next one, freeing the first claim', async () => {
    const a = await stack.addHost('sch-fail-a', { ramMb: 131072, failSpawn: 'disk full' }); // the weigher tries it first
    const b = await stack.addHost('sch-ok-b');
    const server = await launch('rescued');
    await waitForStatus(api, server.id, 'ACTIVE');
    expect((await stack.admin.api.servers.get({ id: server.id })).host).toBe('sch-ok-b');

    const create = await createAction(server.id);
    expect(create.events).toContainEqual(expect.objectContaining({ event: 'build', result: 'Error', host: 'sch-fail-a', details: expect.stringContaining('disk full') }));
    expect(create.events).toContainEqual(expect.objectContaining({ event: 'build', result: 'Success', host: 'sch-ok-b' }));
    expect(JSON.stringify(await createAction(server.id, false))).not.toContain('sch-');
    expect(await held(server.id)).toEqual({ allocations: { 'sch-ok-b': 3 }, ports: 1 });
    expect(await a.driver.list()).toEqual([]);
    expect((await b.driver.list()).map((i) => i.id)).toEqual([server.id]);
  });

  it('gives up after every host failed, saying what the last one said, and holds nothing', async () => {
    await stack.addHost('sch-bad-1', { ramMb: 262144, failSpawn: 'disk full' });
    await stack.addHost('sch-bad-2', { ramMb: 196608, failSpawn: 'libvirt: domain crashed at boot' });
    const server = await launch('doomed');
    const failed = await waitForStatus(api, server.id, 'ERROR');
    expect(failed.fault).toMatchObject({ message: 'Build failed on 2 hosts; the last said: libvirt: domain crashed at boot', details: null });
    const create = await createAction(server.id);
    expect(create.events.filter((e) => e.event === 'build' && e.result === 'Error').map((e) => e.host)).toEqual(['sch-bad-1', 'sch-bad-2', 'sch-bad-2']);
    expect(await held(server.id)).toEqual({ allocations: {}, ports: 0 });
  });
});

describe('a host that dies mid-build', () => {
  it('has its build moved to an alternate by the sweep, never leaving the server in BUILD', async () => {
    const a = await stack.addHost('sch-slow-a', { ramMb: 131072, spawnDelayMs: 60_000 });
    const b = await stack.addHost('sch-alt-b');
    const server = await launch('survivor');
    await waitFor(async () => {
      const s = await stack.admin.api.servers.get({ id: server.id });
      return s.host === 'sch-slow-a' && s.taskState === 'spawning';
    }, 'the build to be spawning on sch-slow-a');
    await stack.kill(a.name);
    await twoMinutesAgo('sch-slow-a', server.id);

    await sweep(stack.conductorDeps);
    await waitForStatus(api, server.id, 'ACTIVE');
    expect((await stack.admin.api.servers.get({ id: server.id })).host).toBe('sch-alt-b');
    const create = await createAction(server.id);
    expect(create.events).toContainEqual(
      expect.objectContaining({ event: 'build', result: 'Error', host: 'sch-slow-a', details: expect.stringContaining('stopped responding') }),
    );
    expect(await held(server.id)).toEqual({ allocations: { 'sch-alt-b': 3 }, ports: 1 });
    expect((await b.driver.list()).map((i) => i.id)).toEqual([server.id]);
  });

  it('puts the server in ERROR when no alternate is left', async () => {
    const c = await stack.addHost('sch-slow-c', { spawnDelayMs: 60_000 });
    const server = await launch('orphan');
    await waitFor(async () => (await stack.admin.api.servers.get({ id: server.id })).taskState === 'spawning', 'the build to be spawning');
    await stack.kill(c.name);
    await twoMinutesAgo('sch-slow-c', server.id);

    await sweep(stack.conductorDeps);
    const failed = await waitForStatus(api, server.id, 'ERROR');
    expect(failed.fault?.message).toBe('Build failed on 1 host; the last said: the host stopped responding (no heartbeat for 60 s)');
    expect((await stack.admin.api.servers.get({ id: server.id })).fault?.details).toContain('sch-slow-c');
    expect(await held(server.id)).toEqual({ allocations: {}, ports: 0 });
    // A second sweep finds nothing more to do.
    await sweep(stack.conductorDeps);
    expect((await api.servers.get({ id: server.id })).status).toBe('ERROR');
  });
});

describe('a build moved on after its image was deleted', () => {
  it('ends in ERROR saying so, the failure on its first host recorded, its alternate never sent the build, and holds nothing', async () => {
    const a = await stack.addHost('sch-gone-a', { ramMb: 131072, spawnDelayMs: 60_000 });
    const b = await stack.addHost('sch-gone-b');
    const gone = await stack.image('sch-gone');
    const [server] = await api.servers.create({ name: 'imageless', flavorId: tiny, imageId: gone });
    await waitFor(async () => {
      const s = await stack.admin.api.servers.get({ id: server!.id });
      return s.host === 'sch-gone-a' && s.taskState === 'spawning';
    }, 'the build to be spawning on sch-gone-a');
    await db.pool.query('DELETE FROM images WHERE id = $1', [gone]);
    await stack.kill(a.name);
    await twoMinutesAgo('sch-gone-a', server!.id);

    await sweep(stack.conductorDeps);
    const failed = await waitForStatus(api, server!.id, 'ERROR');
    expect(failed.fault?.message).toBe(`image sch-gone (${gone}) was deleted before the server was built`);
    const create = await createAction(server!.id);
    expect(create.events.filter((e) => e.event === 'build').map((e) => [e.host, e.result, e.details])).toEqual([
      ['sch-gone-a', 'Error', 'the host stopped responding (no heartbeat for 60 s)'],
      ['sch-gone-a', 'Error', failed.fault?.message],
    ]);
    expect(await held(server!.id)).toEqual({ allocations: {}, ports: 0 });
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${db.schema}_boss.job WHERE name = $1 AND data->>'job' = 'buildInstance'`,
      [computeQueue('sch-gone-b')],
    );
    expect(rows[0]!.n).toBe(0);
    expect(await b.driver.list()).toEqual([]);
  });
});

describe('a build that fails while its server is being deleted', () => {
  it('is left to the delete: not moved to an alternate', async () => {
    await stack.addHost('sch-del-a', { ramMb: 131072, spawnDelayMs: 60_000 });
    await stack.addHost('sch-del-b');
    const server = await launch('going');
    await waitFor(async () => (await stack.admin.api.servers.get({ id: server.id })).taskState === 'spawning', 'the build to be spawning');
    // As the delete leaves it while the host tears the guest down.
    await db.pool.query(`UPDATE instances SET task_state = 'deleting' WHERE id = $1`, [server.id]);
    await onBuildResult(stack.conductorDeps, { instanceId: server.id, host: 'sch-del-a', attempt: 1, ok: false, error: 'interrupted' }, 'sch-del-fail');
    const after = await stack.admin.api.servers.get({ id: server.id });
    expect([after.host, after.taskState]).toEqual(['sch-del-a', 'deleting']);
    expect(await held(server.id)).toEqual({ allocations: { 'sch-del-a': 3 }, ports: 1 });
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${db.schema}_boss.job WHERE name = $1 AND data->>'job' = 'buildInstance'`,
      [computeQueue('sch-del-b')],
    );
    expect(rows[0]!.n).toBe(0);
  });
});

describe('several hosts sharing the work', () => {
  it('builds 30 servers across three agents, each getting some and none over its capacity', async () => {
    // Room for 12 m1.tiny each: 36 places for 30 servers, so every host must take at least 6.
    const hosts = await Promise.all(['sch-share-1', 'sch-share-2', 'sch-share-3'].map((h) => stack.addHost(h, { ramMb: 12 * 512 + 512 })));
    const servers = await api.servers.create({ name: 'fleet', flavorId: tiny, imageId, count: 30 });
    expect(servers).toHaveLength(30);
    const ids = servers.map((s) => s.id);
    await expect
      .poll(async () => (await db.pool.query(`SELECT count(*)::int AS n FROM instances WHERE id = ANY($1::uuid[]) AND vm_state = 'active' AND task_state IS NULL`, [ids])).rows[0].n, {
        timeout: 30_000,
        interval: 100,
      })
      .toBe(30);

    const { rows } = await db.pool.query<{ host: string; n: number }>(`SELECT host, count(*)::int AS n FROM instances WHERE id = ANY($1::uuid[]) GROUP BY host ORDER BY host`, [ids]);
    expect(rows.map((r) => r.host)).toEqual(['sch-share-1', 'sch-share-2', 'sch-share-3']);
    for (const r of rows) expect(r.n).toBeGreaterThanOrEqual(6);
    for (const h of hosts) expect((await h.driver.list()).length).toBe(rows.find((r) => r.host === h.name)!.n);

    const inv = await db.pool.query<{ host: string; resource_class: string; used: number; capacity: number; allocated: number }>(
      `SELECT rp.name AS host, i.resource_class, i.used, floor((i.total - i.reserved) * i.allocation_ratio)::int AS capacity,
              COALESCE((SELECT sum(a.used) FROM allocations a WHERE a.provider_id = i.provider_id AND a.resource_class = i.resource_class), 0)::int AS allocated
         FROM inventories i JOIN resource_providers rp ON rp.id = i.provider_id WHERE rp.name LIKE 'sch-share-%'`,
    );
    for (const r of inv.rows) {
      expect(r.used).toBeLessThanOrEqual(r.capacity);
      expect(r.used).toBe(r.allocated);
    }
  });
});

describe('reports delivered twice', () => {
  it('applies a build result and an action result once', async () => {
    await stack.addHost('sch-twice');
    const server = await launch('twice');
    await waitForStatus(api, server.id, 'ACTIVE');
    const { host } = await stack.admin.api.servers.get({ id: server.id });
    const owner = stack.hosts.find((h) => h.name === host)!;
    const count = async (event: string) =>
      (await stack.admin.api.servers.actions({ id: server.id })).flatMap((a) => a.events).filter((e) => e.event === event).length;
    expect(await count('build')).toBe(1);

    const built = { instanceId: server.id, host: host!, attempt: 1, ok: true, powerState: 1 };
    await onBuildResult(stack.conductorDeps, built, 'sch-dup-build');
    await onBuildResult(stack.conductorDeps, built, 'sch-dup-build');
    expect(await count('build')).toBe(1);
    expect((await owner.driver.list()).map((i) => i.id)).toContain(server.id); // not torn down as a stray copy

    await api.servers.stop({ id: server.id });
    await waitForStatus(api, server.id, 'SHUTOFF');
    const stop = (await api.servers.actions({ id: server.id })).find((a) => a.action === 'stop')!;
    const stopped = { instanceId: server.id, host: host!, action: 'stop', ok: true, powerState: 4 };
    await onActionResult(stack.conductorDeps, stopped, stop.requestId);
    await onActionResult(stack.conductorDeps, stopped, stop.requestId);
    expect(await count('compute_stop')).toBe(1);

    // A new failure report, delivered twice: one fault, one event.
    const faults = async () => (await db.pool.query('SELECT count(*)::int AS n FROM instance_faults WHERE instance_id = $1', [server.id])).rows[0].n;
    const refused = { instanceId: server.id, host: host!, action: 'stop', ok: false, error: 'qemu did not answer' };
    await onActionResult(stack.conductorDeps, refused, 'sch-dup-fail');
    await onActionResult(stack.conductorDeps, refused, 'sch-dup-fail');
    expect(await faults()).toBe(1);
    expect(await count('compute_stop')).toBe(2);
    expect((await api.servers.get({ id: server.id })).status).toBe('SHUTOFF');
  });

  it('ignores a teardown report from a host that does not hold the server (a stray copy removed)', async () => {
    await stack.addHost('sch-kept');
    const server = await launch('kept');
    await waitForStatus(api, server.id, 'ACTIVE');
    await onActionResult(stack.conductorDeps, { instanceId: server.id, host: 'sch-elsewhere', action: 'delete', ok: true }, `cleanup-${server.id}`);
    const after = await api.servers.get({ id: server.id });
    expect(after.status).toBe('ACTIVE');
    expect((await held(server.id)).ports).toBe(1);
  });
});

describe('live build steps', () => {
  const steps = async (id: string) => (await createAction(id)).events.filter((e) => e.event.startsWith('build')).map((e) => e.event);

  it('of a slow build are listed in the order they happened', async () => {
    await stack.addHost('sch-live', { spawnDelayMs: 700 });
    const server = await launch('live-steps');
    await waitForStatus(api, server.id, 'ACTIVE');
    expect(await steps(server.id)).toEqual(['build_creating_disk', 'build_defining_domain', 'build_starting_domain', 'build']);
  });

  it('taken together out of order are written in the order their host stamped', async () => {
    await stack.addHost('sch-live-slow', { spawnDelayMs: 60_000 });
    const server = await launch('live-steps-together');
    // Its first steps are reported live once it has run 300 ms.
    await waitFor(async () => (await steps(server.id)).length === 2, 'the first steps to be reported');
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const step = (name: string, s: number) => ({ instanceId: server.id, host: 'sch-live-slow', attempt: 1, step: name, at: at(s) });
    await onBuildProgress(stack.conductorDeps, [step('third', 3), step('first', 1), step('second', 2), { ...step('late', 4), attempt: 2 }]);
    // The report of another attempt is dropped.
    expect(await steps(server.id)).toEqual(['build_creating_disk', 'build_defining_domain', 'build_first', 'build_second', 'build_third']);
    const service = (await stack.admin.api.services.list()).find((s) => s.host === 'sch-live-slow' && s.binary === 'aster-compute')!;
    await stack.admin.api.services.forceDown({ id: service.id, forcedDown: true });
  });
});

describe('build results arriving together', () => {
  it('are applied in one go: each once, a stray copy torn down, a build still under way left alone', async () => {
    const slow = await stack.addHost('sch-batch', { ramMb: 1_048_576, spawnDelayMs: 60_000 }); // the weigher's first pick
    await stack.addHost('sch-batch-other');
    const servers = await api.servers.create({ name: 'together', flavorId: tiny, imageId, count: 3 });
    for (const s of servers) {
      await waitFor(async () => {
        const got = await stack.admin.api.servers.get({ id: s.id });
        return got.host === 'sch-batch' && got.taskState === 'spawning';
      }, `${s.name} to be spawning on sch-batch`);
    }
    const [a, b, c] = servers.map((s) => s.id) as [string, string, string];
    const ok = (instanceId: string, host = 'sch-batch') => ({ p: { instanceId, host, attempt: 1, ok: true, powerState: 1, steps: ['image fetched'] }, requestId: `batch-${instanceId}` });
    // a twice (a job delivered twice), b once, and c reported by a host that was never given its build.
    await onBuildResults(stack.conductorDeps, [ok(a), ok(b), ok(a), ok(c, 'sch-batch-other')]);

    for (const id of [a, b]) {
      expect((await api.servers.get({ id })).status).toBe('ACTIVE');
      const create = await createAction(id);
      expect(create.finishedAt).not.toBeNull();
      expect(create.events.filter((e) => e.event.startsWith('build')).map((e) => [e.event, e.result, e.host])).toEqual([
        ['build_image_fetched', 'Success', 'sch-batch'],
        ['build', 'Success', 'sch-batch'],
      ]);
    }
    const stillBuilding = await stack.admin.api.servers.get({ id: c });
    expect([stillBuilding.status, stillBuilding.taskState, stillBuilding.host]).toEqual(['BUILD', 'spawning', 'sch-batch']);
    // The copy sch-batch-other says it built is nobody's: it is told to remove it.
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${db.schema}_boss.job WHERE name = $1 AND data->>'job' = 'terminateInstance' AND data->'payload'->>'instanceId' = $2`,
      [computeQueue('sch-batch-other'), c],
    );
    expect(rows[0]!.n).toBe(1);

    // The same reports again change nothing.
    await onBuildResults(stack.conductorDeps, [ok(a), ok(b)]);
    expect((await createAction(a)).events.filter((e) => e.event === 'build')).toHaveLength(1);
    // The slow host takes no more builds from the tests after this one.
    const service = (await stack.admin.api.services.list()).find((s) => s.host === slow.name && s.binary === 'aster-compute')!;
    await stack.admin.api.services.forceDown({ id: service.id, forcedDown: true });
  });
});
