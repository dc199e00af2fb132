import { randomUUID } from 'node:crypto';
import { createPool, transaction, type Pool } from '@aster/db';
import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { allocatePorts, freePorts, planSubnet, portsOf } from '../src/compute/ipam.ts';
import { createNetwork } from '../src/compute/networks.ts';
import { AsterError } from '../src/errors.ts';
import { insertInstance } from './harness.ts';

const db = useTestDatabase();

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AsterError);
    expect((error as AsterError).code).toBe('InvalidInput');
    return (error as AsterError).message;
  }
  throw new Error('expected the subnet to be refused');
}

// The plan itself is @aster/compute's (its ipv4 tests); here, that the API refuses what it refuses as bad input.
describe('a subnet the plan refuses', () => {
  it("is InvalidInput, in the plan's words", () => {
    expect(refused(() => planSubnet({ cidr: '192.168.1.5/24' }))).toBe('cidr 192.168.1.5/24 is not a network address; did you mean 192.168.1.0/24?');
    expect(refused(() => planSubnet({ cidr: '10.0.0.0/24', gateway: '10.0.1.1' }))).toBe('gateway 10.0.1.1 is outside 10.0.0.0/24');
    expect(planSubnet({ cidr: '10.0.0.0/24' })).toMatchObject({ gateway: '10.0.0.1', allocationStart: '10.0.0.2', allocationEnd: '10.0.0.254' });
  });
});

async function project(pool: Pool, name: string): Promise<string> {
  const { rows } = await pool.query<{ id: string }>('INSERT INTO projects (name) VALUES ($1) RETURNING id', [name]);
  return rows[0]!.id;
}


const allocate = (pool: Pool, instanceId: string, networkIds: string[]) => transaction(pool, (c) => allocatePorts(c, instanceId, networkIds));

describe('allocatePorts', () => {
  it('hands out the lowest free address with a fresh MAC, once per instance and network', async () => {
    const projectId = await project(db.pool, 'alloc');
    const net = await createNetwork(db.pool, { name: 'alloc-net', projectId, shared: false, bridge: 'br-alloc', subnet: { cidr: '10.1.0.0/24', dnsServers: ['10.1.0.1'] } });
    const a = await insertInstance(db.pool, projectId, 'alloc-a');
    const [port] = await allocate(db.pool, a, [net.id]);
    expect(port).toEqual({
      id: expect.any(String),
      networkId: net.id,
      networkName: 'alloc-net',
      subnetId: net.subnets[0]!.id,
      bridge: 'br-alloc',
      mac: expect.stringMatching(/^fa:16:3e(:[0-9a-f]{2}){3}$/),
      ip: '10.1.0.2',
      cidr: '10.1.0.0/24',
      gateway: '10.1.0.1',
      dnsServers: ['10.1.0.1'],
    });
    // Asked again (a build retried elsewhere): the same port, nothing new.
    expect(await allocate(db.pool, a, [net.id, net.id.toUpperCase()])).toEqual([port]);
    const b = await insertInstance(db.pool, projectId, 'alloc-b');
    expect((await allocate(db.pool, b, [net.id]))[0]).toMatchObject({ ip: '10.1.0.3' });
    const listed = await portsOf(db.pool, [a, b, randomUUID()]);
    expect([...listed.values()].map((ports) => ports.map((p) => p.ip))).toEqual([['10.1.0.2'], ['10.1.0.3'], []]);
  });

  it('reuses freed addresses, lowest first', async () => {
    const projectId = await project(db.pool, 'reuse');
    const net = await createNetwork(db.pool, { name: 'reuse-net', projectId, shared: false, bridge: null, subnet: { cidr: '10.2.0.0/29' } });
    const ids = await Promise.all(['r1', 'r2', 'r3'].map((n) => insertInstance(db.pool, projectId, n)));
    for (const id of ids) await allocate(db.pool, id, [net.id]);
    expect(await freePorts(db.pool, ids[0]!)).toBe(1);
    expect(await freePorts(db.pool, ids[0]!)).toBe(0);
    const next = await insertInstance(db.pool, projectId, 'r4');
    expect((await allocate(db.pool, next, [net.id]))[0]!.ip).toBe('10.2.0.2');
    expect((await portsOf(db.pool, [ids[0]!])).get(ids[0]!)).toEqual([]);
  });

  it('gives one port per network and leaves nothing behind when one network is full', async () => {
    const projectId = await project(db.pool, 'multi');
    const wide = await createNetwork(db.pool, { name: 'multi-wide', projectId, shared: false, bridge: null, subnet: { cidr: '10.3.0.0/24' } });
    const tiny = await createNetwork(db.pool, { name: 'multi-tiny', projectId, shared: false, bridge: null, subnet: { cidr: '10.4.0.0/30' } });
    const first = await insertInstance(db.pool, projectId, 'm1');
    const ports = await allocate(db.pool, first, [tiny.id, wide.id]);
    expect(ports.map((p) => [p.networkName, p.ip])).toEqual([
      ['multi-tiny', '10.4.0.2'],
      ['multi-wide', '10.3.0.2'],
    ]);
    const second = await insertInstance(db.pool, projectId, 'm2');
    await expect(allocate(db.pool, second, [wide.id, tiny.id])).rejects.toThrow('No free IP address left on network multi-tiny (subnet 10.4.0.0/30)');
    expect((await portsOf(db.pool, [second])).get(second)).toEqual([]);
    await expect(allocate(db.pool, second, [randomUUID()])).rejects.toThrow(/^Network [0-9a-f-]+ not found$/);
  });

  it('on a large subnet draws addresses at random, each once, and finds the last free ones when nearly full', async () => {
    const projectId = await project(db.pool, 'large');
    // A /21: 2,045 addresses, above the size where addresses are drawn at random.
    const net = await createNetwork(db.pool, { name: 'large-net', projectId, shared: false, bridge: null, subnet: { cidr: '10.6.0.0/21' } });
    const size = net.subnets[0]!.available;
    expect(size).toBeGreaterThan(1024);
    // All but three addresses taken, directly: the last three must still be found, then the subnet is full.
    await db.pool.query(
      `INSERT INTO ports (network_id, subnet_id, mac, ip)
       SELECT $1, s.id, ('02:00:' || lpad(to_hex(g.n / 65536 % 256), 2, '0') || ':' || lpad(to_hex(g.n / 256 % 256), 2, '0') || ':' ||
                         lpad(to_hex(g.n % 256), 2, '0') || ':01')::macaddr, s.allocation_start + g.n
         FROM subnets s, generate_series(0, s.allocation_end - s.allocation_start) AS g(n)
        WHERE s.network_id = $1 AND g.n NOT IN (7, 1000, 2000)`,
      [net.id],
    );
    const ids = await Promise.all(Array.from({ length: 4 }, (_, i) => insertInstance(db.pool, projectId, `large-${i}`)));
    const got: string[] = [];
    for (const id of ids.slice(0, 3)) got.push((await allocate(db.pool, id, [net.id]))[0]!.ip);
    expect(got.sort()).toEqual(['10.6.0.9', '10.6.3.234', '10.6.7.210'].sort());
    await expect(allocate(db.pool, ids[3]!, [net.id])).rejects.toThrow('No free IP address left on network large-net (subnet 10.6.0.0/21)');
  });

  it('on a large subnet gives 200 parallel builds 200 different addresses', async () => {
    const projectId = await project(db.pool, 'many');
    const net = await createNetwork(db.pool, { name: 'many-net', projectId, shared: false, bridge: null, subnet: { cidr: '10.7.0.0/16' } });
    const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => insertInstance(db.pool, projectId, `many-${i}`)));
    const wide = createPool({ connectionString: db.url, schema: db.schema, max: 20 });
    try {
      const ips = await Promise.all(ids.map(async (id) => (await transaction(wide, (client) => allocatePorts(client, id, [net.id])))[0]!.ip));
      expect(new Set(ips).size).toBe(200);
    } finally {
      await wide.end();
    }
  });

  it('under concurrency: a /29 gives its 5 addresses to 5 of 20 parallel builds, and refuses the rest', async () => {
    const projectId = await project(db.pool, 'race');
    const net = await createNetwork(db.pool, { name: 'race-net', projectId, shared: false, bridge: null, subnet: { cidr: '10.5.0.0/29' } });
    expect(net.subnets[0]).toMatchObject({ allocationStart: '10.5.0.2', allocationEnd: '10.5.0.6', available: 5 });
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => insertInstance(db.pool, projectId, `race-${i}`)));
    const wide = createPool({ connectionString: db.url, schema: db.schema, max: 20 });
    try {
      // Every transaction on its own connection, all opened before any allocation starts.
      const clients = await Promise.all(ids.map(() => wide.connect()));
      const results = await Promise.allSettled(
        clients.map(async (client, i) => {
          try {
            await client.query('BEGIN');
            const ports = await allocatePorts(client, ids[i]!, [net.id]);
            await client.query('COMMIT');
            return ports[0]!.ip;
          } catch (error) {
            await client.query('ROLLBACK');
            throw error;
          } finally {
            client.release();
          }
        }),
      );
      const ips = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
      expect(ips.sort()).toEqual(['10.5.0.2', '10.5.0.3', '10.5.0.4', '10.5.0.5', '10.5.0.6']);
      expect(failures).toEqual(Array(15).fill('No free IP address left on network race-net (subnet 10.5.0.0/29)'));
    } finally {
      await wide.end();
    }
    const { rows } = await db.pool.query('SELECT count(DISTINCT ip)::int AS ips, count(DISTINCT mac)::int AS macs FROM ports WHERE network_id = $1', [net.id]);
    expect(rows[0]).toEqual({ ips: 5, macs: 5 });
  });

  it('uses a later subnet when the first is full', async () => {
    const projectId = await project(db.pool, 'spill');
    const net = await createNetwork(db.pool, { name: 'spill-net', projectId, shared: false, bridge: null, subnet: { cidr: '10.6.0.0/30' } });
    await db.pool.query(
      `INSERT INTO subnets (network_id, cidr, gateway, allocation_start, allocation_end, created_at)
       VALUES ($1, '10.7.0.0/30', '10.7.0.1', '10.7.0.2', '10.7.0.2', now() + interval '1 second')`,
      [net.id],
    );
    const ips = [];
    for (const name of ['s1', 's2']) ips.push((await allocate(db.pool, await insertInstance(db.pool, projectId, name), [net.id]))[0]!.ip);
    expect(ips).toEqual(['10.6.0.2', '10.7.0.2']);
    await expect(allocate(db.pool, await insertInstance(db.pool, projectId, 's3'), [net.id])).rejects.toThrow(
      'No free IP address left on network spill-net (subnet 10.6.0.0/30, 10.7.0.0/30)',
    );
  });
});
