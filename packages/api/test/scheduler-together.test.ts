import { randomUUID } from 'node:crypto';
import { useTestDatabase } from '@aster/db/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { claim, freeOn, providerIdOf } from '../src/compute/placement.ts';
import { useComputeStack, waitFor, waitForStatus } from './compute-harness.ts';

// A request for several servers (Nova's multi-create) is decided instance by instance and placed in one
// transaction; what cannot be placed there is decided again on its own. Real queues, FakeDriver hosts.
const db = useTestDatabase();
// The scheduler keeps its view of the hosts for a minute, so that a test can make that view wrong.
const env = useComputeStack(db, {
  image: 'tog-image',
  stack: { scheduler: { hostStateTtlMs: 60_000 } },
  tenant: { name: 'tog-alice', project: 'tog-project', unlimited: true },
});
afterEach(() => env.stack.retireAll());

const hostOf = async (id: string) => (await env.stack.admin.api.servers.get({ id })).host;

/** Each server's `schedule` event: when its decision ended (the claims held), per server. */
async function scheduledAt(ids: string[]): Promise<number[]> {
  const { rows } = await db.pool.query<{ t: Date }>(
    `SELECT e.finished_at AS t FROM instance_action_events e JOIN instance_actions a ON a.id = e.action_id
      WHERE a.instance_id = ANY($1::uuid[]) AND e.event = 'schedule' AND e.result = 'Success' ORDER BY a.instance_id`,
    [ids],
  );
  return rows.map((r) => r.t.getTime());
}

async function overCapacity() {
  const { rows } = await db.pool.query(`SELECT provider_id, resource_class FROM inventories WHERE used > floor((total - reserved) * allocation_ratio)`);
  return rows;
}

describe('a request for several servers', () => {
  it('is placed in one transaction: every claim made before any is dispatched, each build sent to its host', async () => {
    for (const h of ['tog-a', 'tog-b', 'tog-c']) await env.stack.addHost(h, { ramMb: 4096 });
    const servers = await env.api.servers.create({ name: 'tog', flavorId: env.tiny, imageId: env.imageId, count: 6 });
    for (const s of servers) await waitForStatus(env.api, s.id, 'ACTIVE');
    // One decision time for all: their claims were all held when the request's placement was written.
    const times = await scheduledAt(servers.map((s) => s.id));
    expect(times).toHaveLength(6);
    expect(new Set(times).size).toBe(1);
    // Spread by the RAM weigher (each placement seen by the next decision), every host building its own.
    const hosts = await Promise.all(servers.map((s) => hostOf(s.id)));
    expect(Object.values(hosts.reduce<Record<string, number>>((m, h) => ({ ...m, [h!]: (m[h!] ?? 0) + 1 }), {}))).toEqual([2, 2, 2]);
    for (const h of env.stack.hosts.filter((x) => x.name.startsWith('tog-'))) expect((await h.driver.list()).length).toBe(2);
    expect(await overCapacity()).toEqual([]);
  });

  it('decides again, on its own, an instance whose host filled since the scheduler last read the hosts', async () => {
    await env.stack.addHost('tog-roomy', { ramMb: 8192 });
    await env.stack.addHost('tog-spare', { ramMb: 4096 });
    // The scheduler reads the hosts (and keeps them): the roomy host looks roomiest.
    const [warm] = await env.api.servers.create({ name: 'tog-warm', flavorId: env.tiny, imageId: env.imageId });
    await waitForStatus(env.api, warm!.id, 'ACTIVE');
    expect(await hostOf(warm!.id)).toBe('tog-roomy');
    // Something else takes all the roomy host's RAM, unseen by the scheduler's view.
    const roomy = (await providerIdOf(db.pool, 'tog-roomy'))!;
    expect(await claim(db.pool, roomy, randomUUID(), { vcpus: 0, ramMb: (await freeOn(db.pool, roomy)).ramMb, diskGb: 0 })).toBe(true);

    const servers = await env.api.servers.create({ name: 'tog-late', flavorId: env.tiny, imageId: env.imageId, count: 3 });
    for (const s of servers) await waitForStatus(env.api, s.id, 'ACTIVE');
    // Chosen together for the roomy host, refused there by the claims, then placed one by one on a fresh view.
    expect(await Promise.all(servers.map((s) => hostOf(s.id)))).toEqual(['tog-spare', 'tog-spare', 'tog-spare']);
    expect(await overCapacity()).toEqual([]);
  });

  it('keeps its group’s anti-affinity, members spread within the request, and explains the one left over', async () => {
    for (const h of ['tog-anti-1', 'tog-anti-2', 'tog-anti-3']) await env.stack.addHost(h);
    const group = await env.api.serverGroups.create({ name: 'tog-web', policy: 'anti-affinity' });
    const [first] = await env.api.servers.create({ name: 'tog-web-0', flavorId: env.tiny, imageId: env.imageId, serverGroupId: group.id });
    await waitForStatus(env.api, first!.id, 'ACTIVE');
    const servers = await env.api.servers.create({ name: 'tog-web', flavorId: env.tiny, imageId: env.imageId, serverGroupId: group.id, count: 3 });
    await waitFor(async () => {
      const states = await Promise.all(servers.map(async (s) => (await env.api.servers.get({ id: s.id })).status));
      return states.every((s) => s === 'ACTIVE' || s === 'ERROR');
    }, 'the group request to settle');
    const views = await Promise.all(servers.map((s) => env.stack.admin.api.servers.get({ id: s.id })));
    const active = views.filter((v) => v.status === 'ACTIVE');
    expect(active).toHaveLength(2);
    const hosts = [await hostOf(first!.id), ...active.map((v) => v.host)];
    expect(new Set(hosts).size).toBe(3);
    const failed = views.find((v) => v.status === 'ERROR')!;
    expect(failed.fault?.message).toContain('ServerGroupAntiAffinity: 3 hosts already run a member of group tog-web');
  });

  it('ends only the build that a refusal concerns: no address left for the last of them', async () => {
    await env.stack.addHost('tog-net');
    // A /29 with its gateway and the network's metadata port (DHCP is on): four addresses for servers.
    const net = await env.api.networks.create({ name: 'tog-small', subnet: { cidr: '10.77.0.0/29' } });
    const servers = await env.api.servers.create({ name: 'tog-addr', flavorId: env.tiny, imageId: env.imageId, count: 5, networks: [net.id] });
    await waitFor(async () => {
      const states = await Promise.all(servers.map(async (s) => (await env.api.servers.get({ id: s.id })).status));
      return states.every((s) => s === 'ACTIVE' || s === 'ERROR');
    }, 'the request to settle');
    const views = await Promise.all(servers.map((s) => env.api.servers.get({ id: s.id })));
    expect(views.filter((v) => v.status === 'ACTIVE')).toHaveLength(4);
    const failed = views.filter((v) => v.status === 'ERROR');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.fault?.message).toContain('No free IP address left on network tog-small (subnet 10.77.0.0/29)');
    // The refused one holds nothing; the others one address each.
    const { rows } = await db.pool.query<{ id: string; ports: number; allocations: number }>(
      `SELECT i.id, (SELECT count(*)::int FROM ports p WHERE p.instance_id = i.id) AS ports,
              (SELECT count(*)::int FROM allocations a WHERE a.consumer_id = i.id) AS allocations
         FROM instances i WHERE i.id = ANY($1::uuid[])`,
      [servers.map((s) => s.id)],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(failed[0]!.id)).toMatchObject({ ports: 0, allocations: 0 });
    for (const v of views.filter((x) => x.status === 'ACTIVE')) expect(byId.get(v.id)!.ports).toBe(1);
  });
});
