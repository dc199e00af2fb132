import { useTestDatabase } from '@aster/db/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { computeStack, waitFor, waitForStatus, type ComputeStack } from './compute-harness.ts';
import { HostStateCache } from '../src/workers/host-cache.ts';
import { silentLog, userSession } from './harness.ts';

// Server groups, zones, aggregates, hints and forced-down hosts, through the API with real queues and
// FakeDriver hosts: what the scheduler decides, and what it says when nothing fits.
const db = useTestDatabase();
let stack: ComputeStack;
let imageId: string;
let tiny: string;
let tenant: Awaited<ReturnType<typeof userSession>>;
let api: ReturnType<ComputeStack['api']>;

beforeAll(async () => {
  // Soft affinity outweighs the RAM weigher here, so that a soft group packs even onto the fuller host.
  stack = await computeStack(db, { scheduler: { weights: { ram: 1, cpu: 0, disk: 0, numInstances: 0, softAffinity: 10, softAntiAffinity: 10, buildFailure: 1_000_000 } } });
  imageId = await stack.image('pol-image');
  tiny = await stack.flavor('m1.tiny');
  tenant = await userSession(db.pool, stack.admin.api, { name: 'pol-alice', project: 'pol-project', role: 'member' });
  api = stack.api(tenant.token);
  await stack.admin.api.quotas.set({ project: 'pol-project', limits: { instances: -1, cores: -1, ramMb: -1, serverGroups: -1, serverGroupMembers: -1 } });
}, 30_000);
afterAll(() => stack?.stop());
afterEach(async () => {
  await stack.retireAll();
  // Zones and aggregates of one test must not steer the next.
  for (const a of await stack.admin.api.aggregates.list()) {
    for (const host of a.hosts) await stack.admin.api.aggregates.removeHost({ id: a.id, host });
    await stack.admin.api.aggregates.delete({ id: a.id });
  }
});

async function launch(name: string, extra: { serverGroupId?: string; availabilityZone?: string; flavorId?: string; schedulerHints?: { sameHost?: string[]; differentHost?: string[] } } = {}) {
  const { flavorId = tiny, ...rest } = extra;
  const [server] = await api.servers.create({ name, flavorId, imageId, ...rest });
  return server!;
}

const hostOf = async (id: string) => (await stack.admin.api.servers.get({ id })).host;

async function launchActive(name: string, extra: Parameters<typeof launch>[1] = {}) {
  const s = await launch(name, extra);
  await waitForStatus(api, s.id, 'ACTIVE');
  return { id: s.id, host: await hostOf(s.id) };
}

describe('server groups', () => {
  it('anti-affinity puts each member on its own host, then refuses one more, saying why without host names', async () => {
    for (const h of ['pol-anti-1', 'pol-anti-2', 'pol-anti-3']) await stack.addHost(h);
    const group = await api.serverGroups.create({ name: 'web', policy: 'anti-affinity' });
    const placed = [];
    for (let i = 0; i < 3; i++) placed.push(await launchActive(`web-${i}`, { serverGroupId: group.id }));
    expect(new Set(placed.map((p) => p.host)).size).toBe(3);

    const extra = await launch('web-3', { serverGroupId: group.id });
    const failed = await waitForStatus(api, extra.id, 'ERROR');
    expect(failed.fault?.message).toMatch(/^No valid host: /);
    expect(failed.fault?.message).toContain('ServerGroupAntiAffinity: 3 hosts already run a member of group web');
    expect(failed.fault?.message).toContain('group web');
    expect(failed.fault?.message).not.toMatch(/pol-anti-/);
    const anti = failed.fault?.explanation?.filters.find((f) => f.filter === 'ServerGroupAntiAffinity');
    expect(anti).toMatchObject({ entered: 3, removed: 3 });
    expect(JSON.stringify(failed.fault?.explanation)).not.toMatch(/pol-anti-/);

    const asAdmin = await stack.admin.api.servers.get({ id: extra.id });
    expect(asAdmin.fault?.details).toMatch(/pol-anti-1/);
    expect(asAdmin.fault?.explanation?.filters.find((f) => f.filter === 'ServerGroupAntiAffinity')?.reasons[0]?.hosts?.sort()).toEqual([
      'pol-anti-1',
      'pol-anti-2',
      'pol-anti-3',
    ]);
  });

  it('anti-affinity with maxServerPerHost 2 puts two members per host and no more', async () => {
    await stack.addHost('pol-max-1');
    await stack.addHost('pol-max-2');
    const group = await api.serverGroups.create({ name: 'pairs', policy: 'anti-affinity', maxServerPerHost: 2 });
    const placed = [];
    for (let i = 0; i < 4; i++) placed.push(await launchActive(`pair-${i}`, { serverGroupId: group.id }));
    const perHost = placed.reduce<Record<string, number>>((m, p) => ({ ...m, [p.host!]: (m[p.host!] ?? 0) + 1 }), {});
    expect(perHost).toEqual({ 'pol-max-1': 2, 'pol-max-2': 2 });
    const fifth = await launch('pair-4', { serverGroupId: group.id });
    expect((await waitForStatus(api, fifth.id, 'ERROR')).fault?.message).toContain('ServerGroupAntiAffinity');
  });

  it('affinity keeps every member on the first member\'s host, even when others have more room', async () => {
    await stack.addHost('pol-aff-small', { ramMb: 8192 });
    await stack.addHost('pol-aff-big', { ramMb: 262144 });
    const group = await api.serverGroups.create({ name: 'db', policy: 'affinity' });
    const first = await launchActive('db-0', { serverGroupId: group.id });
    expect(first.host).toBe('pol-aff-big');
    // A bigger host appears: the RAM weigher would pick it, the group keeps to its first member's host.
    await stack.addHost('pol-aff-bigger', { ramMb: 524288 });
    const second = await launchActive('db-1', { serverGroupId: group.id });
    expect(second.host).toBe('pol-aff-big');
  });

  it('members created together in one request obey the group', async () => {
    for (const h of ['pol-multi-1', 'pol-multi-2', 'pol-multi-3', 'pol-multi-4']) await stack.addHost(h);
    const group = await api.serverGroups.create({ name: 'batch', policy: 'anti-affinity' });
    const servers = await api.servers.create({ name: 'batch', flavorId: tiny, imageId, serverGroupId: group.id, count: 4 });
    for (const s of servers) await waitForStatus(api, s.id, 'ACTIVE');
    const hosts = await Promise.all(servers.map((s) => hostOf(s.id)));
    expect(new Set(hosts).size).toBe(4);
  });

  it('soft anti-affinity spreads while it can, then still places', async () => {
    await stack.addHost('pol-soft-1');
    await stack.addHost('pol-soft-2');
    const group = await api.serverGroups.create({ name: 'soft', policy: 'soft-anti-affinity' });
    const a = await launchActive('soft-0', { serverGroupId: group.id });
    const b = await launchActive('soft-1', { serverGroupId: group.id });
    expect(a.host).not.toBe(b.host);
    const c = await launchActive('soft-2', { serverGroupId: group.id });
    expect(['pol-soft-1', 'pol-soft-2']).toContain(c.host);
  });

  it('soft affinity packs onto the member\'s host, and goes elsewhere rather than fail when it is full', async () => {
    await stack.addHost('pol-pack-1', { ramMb: 1536 });
    await stack.addHost('pol-pack-2', { ramMb: 65536 });
    const group = await api.serverGroups.create({ name: 'pack', policy: 'soft-affinity' });
    const first = await launchActive('pack-0', { serverGroupId: group.id });
    expect(first.host).toBe('pol-pack-2');
    await stack.retire('pol-pack-2');
    await stack.addHost('pol-pack-3', { ramMb: 65536 });
    const second = await launchActive('pack-1', { serverGroupId: group.id });
    expect(second.host).toBe('pol-pack-3');
  });
});

describe('availability zones and aggregates', () => {
  it('places into the zone asked for, counts hosts in no zone as the default zone, and explains a zone with no room', async () => {
    await stack.addHost('pol-az1-a', { ramMb: 1024 });
    await stack.addHost('pol-plain');
    const az1 = await stack.admin.api.aggregates.create({ name: 'rack-az1', availabilityZone: 'az1' });
    await stack.admin.api.aggregates.addHost({ id: az1.id, host: 'pol-az1-a' });

    const zones = await api.availabilityZones.list();
    expect(zones.map((z) => z.name)).toEqual(expect.arrayContaining(['az1', 'nova']));

    expect((await launchActive('in-az1', { availabilityZone: 'az1' })).host).toBe('pol-az1-a');
    expect((await launchActive('in-nova', { availabilityZone: 'nova' })).host).toBe('pol-plain');
    const s = await launchActive('anywhere');
    expect(['pol-az1-a', 'pol-plain']).toContain(s.host);

    // az1's only host is now full (1 GB, m1.tiny takes 512 MB twice at most).
    const more = await launch('more-az1', { availabilityZone: 'az1', flavorId: await stack.flavor('m1.small') });
    const failed = await waitForStatus(api, more.id, 'ERROR');
    expect(failed.fault?.message).toMatch(/AvailabilityZone: \d+ of \d+ hosts (is|are) not in zone az1/);
    expect(failed.fault?.message).toMatch(/RAM: 1 host lacks/);
    expect((await api.servers.get({ id: s.id })).availabilityZone).toBe(s.host === 'pol-az1-a' ? 'az1' : 'nova');
  });

  it('matches flavor extra specs against aggregate metadata', async () => {
    await stack.addHost('pol-ssd', { ramMb: 8192 });
    await stack.addHost('pol-hdd', { ramMb: 262144 });
    const fast = await stack.admin.api.aggregates.create({ name: 'fast-disks' });
    await stack.admin.api.aggregates.addHost({ id: fast.id, host: 'pol-ssd' });
    await stack.admin.api.aggregates.setMetadata({ id: fast.id, metadata: { ssd: 'true' } });
    const flavor = await stack.admin.api.flavors.create({ name: 'pol.ssd', vcpus: 1, ramMb: 512, diskGb: 1 });
    await stack.admin.api.flavors.setExtraSpecs({ id: flavor.id, extraSpecs: { 'aggregate_instance_extra_specs:ssd': 'true' } });
    expect((await launchActive('on-ssd', { flavorId: flavor.id })).host).toBe('pol-ssd');
    expect((await launchActive('anywhere-big')).host).toBe('pol-hdd');
  });
});

describe('hints and host state', () => {
  it('same_host and different_host follow the servers named', async () => {
    await stack.addHost('pol-hint-1');
    await stack.addHost('pol-hint-2');
    const anchor = await launchActive('anchor');
    expect((await launchActive('beside', { schedulerHints: { sameHost: [anchor.id] } })).host).toBe(anchor.host);
    expect((await launchActive('apart', { schedulerHints: { differentHost: [anchor.id] } })).host).not.toBe(anchor.host);
  });

  it('a forced-down host takes no builds, and the fault says so', async () => {
    await stack.addHost('pol-dead', { ramMb: 262144 });
    const dead = (await stack.admin.api.services.list()).find((s) => s.host === 'pol-dead' && s.binary === 'aster-compute')!;
    await stack.admin.api.services.forceDown({ id: dead.id, forcedDown: true });
    const s = await launch('nowhere');
    const failed = await waitForStatus(api, s.id, 'ERROR');
    expect(failed.fault?.message).toMatch(/Compute: .*forced down/);
    await stack.addHost('pol-alive');
    expect((await launchActive('somewhere')).host).toBe('pol-alive');
    await stack.admin.api.services.forceDown({ id: dead.id, forcedDown: false });
    expect((await launchActive('back')).host).toBe('pol-dead');
  });

  it('a host that failed a build is tried last until it succeeds again', async () => {
    const flaky = await stack.addHost('pol-flaky', { ramMb: 262144, failSpawn: 'disk full' });
    await stack.addHost('pol-steady', { ramMb: 8192 });
    const first = await launchActive('after-failure');
    expect(first.host).toBe('pol-steady');
    const { rows } = await db.pool.query<{ failed_builds: number }>(`SELECT failed_builds FROM compute_nodes WHERE host = 'pol-flaky'`);
    expect(rows[0]!.failed_builds).toBe(1);
    // Despite its far larger free RAM, the host with a recent failure is not chosen first.
    const second = await launchActive('avoids-flaky');
    expect(second.host).toBe('pol-steady');
    const create = (await stack.admin.api.servers.actions({ id: second.id })).find((a) => a.action === 'create')!;
    expect(create.events.filter((e) => e.event === 'build' && e.result === 'Error')).toEqual([]);
    expect(flaky.driver).toBeDefined();
  });
});

describe('two schedulers at once', () => {
  it('never break anti-affinity or over-fill a host when racing', async () => {
    const second = await stack.startScheduler({ hostStateTtlMs: 60_000 });
    try {
      for (let i = 0; i < 6; i++) await stack.addHost(`pol-race-${i}`, { ramMb: 4096, vcpus: 4 });
      const groups = await Promise.all([0, 1, 2].map((g) => api.serverGroups.create({ name: `race-${g}`, policy: 'anti-affinity' })));
      const created = (
        await Promise.all(
          groups.flatMap((g, gi) => [0, 1, 2, 3, 4, 5, 6].map((i) => api.servers.create({ name: `race-${gi}-${i}`, flavorId: tiny, imageId, serverGroupId: g.id }))),
        )
      ).flat();
      await waitFor(async () => {
        const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM instances WHERE name LIKE 'race-%' AND vm_state IN ('active', 'error') AND task_state IS NULL`);
        return rows[0]!.n === created.length;
      }, 'every racing server to settle', 30_000);
      const { rows: violations } = await db.pool.query(
        `SELECT gm.group_id, i.host, count(*) FROM server_group_members gm JOIN instances i ON i.id = gm.instance_id
          WHERE i.deleted_at IS NULL AND i.vm_state = 'active' AND i.name LIKE 'race-%' GROUP BY gm.group_id, i.host HAVING count(*) > 1`,
      );
      expect(violations).toEqual([]);
      // Six hosts: six members of each group fit, the seventh cannot.
      const { rows: states } = await db.pool.query<{ vm_state: string; n: number }>(
        `SELECT vm_state, count(*)::int AS n FROM instances WHERE name LIKE 'race-%' GROUP BY vm_state ORDER BY vm_state`,
      );
      expect(states).toEqual([
        { vm_state: 'active', n: 18 },
        { vm_state: 'error', n: 3 },
      ]);
      const { rows: over } = await db.pool.query(
        `SELECT provider_id, resource_class FROM inventories WHERE used > floor((total - reserved) * allocation_ratio)`,
      );
      expect(over).toEqual([]);
    } finally {
      await second.stop();
    }
  }, 60_000);
});

describe('the cached view of hosts', () => {
  it('is read again once the database announces a service disabled', async () => {
    const cache = new HostStateCache({ db: db.pool, ttlMs: 60_000, downAfterSeconds: 60, defaultZone: 'nova' });
    await cache.listen(db.url, silentLog);
    try {
      await stack.addHost('pol-cache');
      const before = (await cache.get()).find((h) => h.host === 'pol-cache')!;
      expect(before.serviceDisabled).toBe(false);
      const svc = (await stack.admin.api.services.list()).find((s) => s.host === 'pol-cache' && s.binary === 'aster-compute')!;
      await stack.admin.api.services.disable({ id: svc.id, reason: 'draining' });
      await waitFor(async () => (await cache.get()).find((h) => h.host === 'pol-cache')!.serviceDisabled, 'the cached view to see the host disabled');
      // Without an announcement the view is kept: a change the database does not announce waits for the TTL.
      await db.pool.query(`UPDATE compute_nodes SET failed_builds = 7 WHERE host = 'pol-cache'`);
      expect((await cache.get()).find((h) => h.host === 'pol-cache')!.failedBuilds).toBe(0);
      expect((await cache.get({ fresh: true })).find((h) => h.host === 'pol-cache')!.failedBuilds).toBe(7);
    } finally {
      await cache.stop();
    }
  });

  it('serves a view past its TTL while reading it again, and waits for a read only when it is far older', async () => {
    const ttlMs = 300;
    const cache = new HostStateCache({ db: db.pool, ttlMs, downAfterSeconds: 60, defaultZone: 'nova' });
    await stack.addHost('pol-stale');
    const failed = async (view: Promise<{ host: string; failedBuilds: number }[]>) => (await view).find((h) => h.host === 'pol-stale')!.failedBuilds;
    expect(await failed(cache.get())).toBe(0);
    await db.pool.query(`UPDATE compute_nodes SET failed_builds = 3 WHERE host = 'pol-stale'`);
    await new Promise((r) => setTimeout(r, ttlMs + 50));
    // Past the TTL: the old view answers at once, and a read starts behind it.
    const first = await cache.get();
    expect(first.find((h) => h.host === 'pol-stale')!.failedBuilds).toBe(0);
    await waitFor(async () => (await failed(cache.get())) === 3, 'the background read to replace the view');
    // Five TTLs on, the view is too old to serve: the caller waits for the read and gets what is there now.
    await db.pool.query(`UPDATE compute_nodes SET failed_builds = 4 WHERE host = 'pol-stale'`);
    await new Promise((r) => setTimeout(r, ttlMs * 5 + 50));
    expect(await failed(cache.get())).toBe(4);
  });

  it('puts last the hosts this process is claiming on, until those claims end, and drops none', async () => {
    const cache = new HostStateCache({ db: db.pool, ttlMs: 60_000, downAfterSeconds: 60, defaultZone: 'nova' });
    const hosts = ['busy-a', 'busy-b', 'busy-c'].map((host) => ({ host }) as Parameters<HostStateCache['idleFirst']>[0][number]);
    const names = () => cache.idleFirst(hosts).map((h) => h.host);
    expect(names()).toEqual(['busy-a', 'busy-b', 'busy-c']);
    const first = cache.claimingOn(['busy-a']);
    const second = cache.claimingOn(['busy-a', 'busy-b']);
    expect(names()).toEqual(['busy-c', 'busy-a', 'busy-b']);
    second();
    second(); // ending twice counts once
    expect(names()).toEqual(['busy-b', 'busy-c', 'busy-a']);
    const third = cache.claimingOn(['busy-b', 'busy-c']);
    expect(names()).toEqual(['busy-a', 'busy-b', 'busy-c']); // every host busy: the order as it was
    first();
    third();
    expect(names()).toEqual(['busy-a', 'busy-b', 'busy-c']);
  });
});
