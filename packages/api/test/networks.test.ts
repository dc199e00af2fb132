import { randomUUID } from 'node:crypto';
import { transaction, type Pool } from '@aster/db';
import { createTestSchema, useTestDatabase } from '@aster/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocatePorts, freePorts } from '../src/compute/ipam.ts';
import { createNetwork, publicNetworkDefaults, resolveNetworks, seedPublicNetwork } from '../src/compute/networks.ts';
import { AsterError } from '../src/errors.ts';
import { expectError as expectErrorMatching, insertInstance } from './harness.ts';
import { useNetworkJobs } from './network-harness.ts';

const db = useTestDatabase();
const jobs = useNetworkJobs(db);

// A string is the whole message, word for word; a pattern matches part of it.
const exactly = (message: string) => new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
const expectError = (promise: Promise<unknown>, code: Parameters<typeof expectErrorMatching>[1], message?: string | RegExp) =>
  expectErrorMatching(promise, code, typeof message === 'string' ? exactly(message) : message);

async function networkCount(pool: Pool): Promise<{ networks: number; subnets: number }> {
  const { rows } = await pool.query('SELECT (SELECT count(*)::int FROM networks) AS networks, (SELECT count(*)::int FROM subnets) AS subnets');
  return rows[0];
}

describe('networks procedures', () => {
  it('creates a network with one subnet and its defaults, seen by its project only', async () => {
    const admin = await jobs.admin();
    const ana = await jobs.user({ name: 'ana', project: 'anas', role: 'member' });
    const anaReader = await jobs.user({ name: 'ana-reader', project: 'anas', role: 'reader' });
    const bo = await jobs.user({ name: 'bo', project: 'bos', role: 'member' });

    const web = await ana.api.networks.create({ name: 'ana-web', subnet: { cidr: '10.10.0.0/24' } });
    expect(web).toEqual({
      id: expect.any(String),
      name: 'ana-web',
      projectId: ana.project.id,
      shared: false,
      external: false,
      physicalNetwork: null,
      mtu: 1442,
      adminStateUp: true,
      description: '',
      bridge: null,
      subnets: [
        {
          id: expect.any(String),
          networkId: web.id,
          name: '',
          cidr: '10.10.0.0/24',
          gateway: '10.10.0.1',
          allocationStart: '10.10.0.2',
          allocationEnd: '10.10.0.254',
          dnsServers: [],
          hostRoutes: [],
          enableDhcp: true,
          // The network's metadata port holds the first address of the range.
          used: 1,
          available: 252,
        },
      ],
      createdAt: expect.stringMatching(/Z$/),
    });
    await expect(ana.api.networks.get({ id: web.id })).resolves.toEqual(web);
    await expect(anaReader.api.networks.get({ id: web.id })).resolves.toEqual(web);
    expect((await anaReader.api.networks.list()).map((n) => n.name)).toContain('ana-web');
    await expect(admin.api.networks.get({ id: web.id })).resolves.toEqual(web);

    // Another project's network does not exist for bo, not even by id.
    await expectError(bo.api.networks.get({ id: web.id }), 'NOT_FOUND', `Network ${web.id} not found`);
    expect((await bo.api.networks.list()).map((n) => n.name)).not.toContain('ana-web');
    await expectError(bo.api.networks.delete({ id: web.id }), 'NOT_FOUND', `Network ${web.id} not found`);
    await expectError(ana.api.networks.get({ id: randomUUID() }), 'NOT_FOUND', /^Network [0-9a-f-]+ not found$/);
  });

  it('lets readers look but not create or delete', async () => {

    const owner = await jobs.user({ name: 'cy', project: 'cys', role: 'member' });
    const reader = await jobs.user({ name: 'cy-reader', project: 'cys', role: 'reader' });
    const net = await owner.api.networks.create({ name: 'cy-net', subnet: { cidr: '10.11.0.0/24' } });
    await expectError(reader.api.networks.create({ name: 'cy-other', subnet: { cidr: '10.12.0.0/24' } }), 'FORBIDDEN', /networks.create needs role member on project cys/);
    await expectError(reader.api.networks.delete({ id: net.id }), 'FORBIDDEN', /networks.delete needs role member on project cys/);
    await expect(owner.api.networks.delete({ id: net.id })).resolves.toEqual({ id: net.id });
    await expectError(owner.api.networks.get({ id: net.id }), 'NOT_FOUND');
  });

  it('keeps shared networks and host bridges for administrators, and shows shared networks to everyone', async () => {
    const admin = await jobs.admin();
    const dee = await jobs.user({ name: 'dee', project: 'dees', role: 'member' });
    await expectError(dee.api.networks.create({ name: 'dee-shared', shared: true, subnet: { cidr: '10.13.0.0/24' } }), 'FORBIDDEN', /only a cloud administrator may create a shared network/);
    await expectError(dee.api.networks.create({ name: 'dee-bridged', bridge: 'br0', subnet: { cidr: '10.13.0.0/24' } }), 'FORBIDDEN', /only a cloud administrator may choose the host bridge/);

    const ext = await admin.api.networks.create({ name: 'ext', shared: true, bridge: 'br-ext', subnet: { cidr: '172.20.0.0/16', gateway: '172.20.255.254', dnsServers: ['172.20.0.53'] } });
    expect(ext).toMatchObject({ shared: true, bridge: 'br-ext', subnets: [{ allocationStart: '172.20.0.1', allocationEnd: '172.20.255.253', dnsServers: ['172.20.0.53'] }] });
    expect((await dee.api.networks.list()).map((n) => n.name)).toContain('ext');
    await expect(dee.api.networks.get({ id: ext.id })).resolves.toMatchObject({ name: 'ext' });
    // Seen, but not theirs to delete.
    await expectError(dee.api.networks.delete({ id: ext.id }), 'FORBIDDEN', /Network ext is shared by another project; only that project or an administrator may delete it/);
    await expect(admin.api.networks.delete({ id: ext.id })).resolves.toEqual({ id: ext.id });
  });

  it('lists every project’s networks for administrators who ask', async () => {
    const admin = await jobs.admin();
    const eve = await jobs.user({ name: 'eve', project: 'eves', role: 'member' });
    await eve.api.networks.create({ name: 'eve-net', subnet: { cidr: '10.14.0.0/24' } });
    expect((await admin.api.networks.list()).map((n) => n.name)).not.toContain('eve-net');
    expect((await admin.api.networks.list({ allProjects: true })).map((n) => n.name)).toContain('eve-net');
    await expectError(eve.api.networks.list({ allProjects: true }), 'FORBIDDEN', /allProjects needs a cloud administrator/);
  });

  it('refuses bad subnets with messages that say what is wrong, and writes nothing', async () => {
    const admin = await jobs.admin();
    const fay = await jobs.user({ name: 'fay', project: 'fays', role: 'member' });
    const before = await networkCount(db.pool);
    const bad = (subnet: Parameters<typeof fay.api.networks.create>[0]['subnet'], message: string | RegExp) =>
      expectError(fay.api.networks.create({ name: 'fay-bad', subnet }), 'BAD_REQUEST', message);
    await bad({ cidr: '192.168.1.5/24' }, 'cidr 192.168.1.5/24 is not a network address; did you mean 192.168.1.0/24?');
    await bad({ cidr: '2001:db8::/64' }, 'cidr 2001:db8::/64: only IPv4 subnets are supported');
    await bad({ cidr: '10.0.0.0/31' }, /prefix length must be between \/8 and \/30/);
    await bad({ cidr: '10.0.0.0/4' }, /prefix length must be between \/8 and \/30/);
    await bad({ cidr: '10.0.0.0' }, /is not an IPv4 network in CIDR notation/);
    await bad({ cidr: '' }, /^Invalid input: subnet.cidr: must be an IPv4 network like 192.168.1.0\/24$/);
    await bad({ cidr: '10.0.0.0/24', gateway: '10.0.1.1' }, 'gateway 10.0.1.1 is outside 10.0.0.0/24');
    await bad({ cidr: '10.0.0.0/24', gateway: '10.0.0.255' }, 'gateway 10.0.0.255 is the broadcast address of 10.0.0.0/24');
    await bad({ cidr: '10.0.0.0/24', gateway: '10.0.0.0' }, 'gateway 10.0.0.0 is the network address of 10.0.0.0/24');
    await bad({ cidr: '10.0.0.0/24', allocationStart: '10.0.0.20', allocationEnd: '10.0.0.10' }, 'allocationStart 10.0.0.20 is after allocationEnd 10.0.0.10');
    await bad({ cidr: '10.0.0.0/24', allocationEnd: '10.1.0.10' }, 'allocationEnd 10.1.0.10 is outside 10.0.0.0/24');
    await bad({ cidr: '10.0.0.0/24', gateway: '10.0.0.50', allocationStart: '10.0.0.10', allocationEnd: '10.0.0.100' }, /allocation range 10.0.0.10 to 10.0.0.100 contains the gateway 10.0.0.50/);
    await bad({ cidr: '10.0.0.0/24', dnsServers: ['dns.example'] }, 'dnsServers[0] dns.example is not an IPv4 address');
    await bad({ cidr: '10.0.0.0/24', dnsServers: ['1.1.1.1', '1.0.0.1', '8.8.8.8', '8.8.4.4', '9.9.9.9', '9.9.9.10'] }, /subnet.dnsServers: at most 5 DNS servers/);
    await expectError(fay.api.networks.create({ name: 'bad name!', subnet: { cidr: '10.0.0.0/24' } }), 'BAD_REQUEST', /^Invalid input: name:/);
    await expectError(admin.api.networks.create({ name: 'bad-bridge', bridge: 'a-bridge-name-too-long', subnet: { cidr: '10.0.0.0/24' } }), 'BAD_REQUEST', /bridge: must be a host bridge name/);
    expect(await networkCount(db.pool)).toEqual(before);
  });

  it('refuses a name the project already sees', async () => {
    const admin = await jobs.admin();
    const gus = await jobs.user({ name: 'gus', project: 'guss', role: 'member' });
    const hal = await jobs.user({ name: 'hal', project: 'hals', role: 'member' });
    await gus.api.networks.create({ name: 'dup', subnet: { cidr: '10.15.0.0/24' } });
    await expectError(gus.api.networks.create({ name: 'DUP', subnet: { cidr: '10.16.0.0/24' } }), 'CONFLICT', 'There is already a network in this project named dup');
    // Another project may use the name for its own network, but not for a shared one.
    await expect(hal.api.networks.create({ name: 'dup', subnet: { cidr: '10.15.0.0/24' } })).resolves.toMatchObject({ name: 'dup' });
    await expectError(admin.api.networks.create({ name: 'dup', shared: true, subnet: { cidr: '10.17.0.0/24' } }), 'CONFLICT', /already a network in another project named dup/);
    await admin.api.networks.create({ name: 'shared-dup', shared: true, subnet: { cidr: '10.18.0.0/24' } });
    await expectError(gus.api.networks.create({ name: 'shared-dup', subnet: { cidr: '10.19.0.0/24' } }), 'CONFLICT', 'There is already a shared network named shared-dup');
  });

  it('refuses to delete a network in use, naming its servers, and deletes it once free', async () => {
    const admin = await jobs.admin();
    const ivy = await jobs.user({ name: 'ivy', project: 'ivys', role: 'member' });
    const web = await ivy.api.networks.create({ name: 'web', subnet: { cidr: '10.20.0.0/24' } });
    const servers = await Promise.all(['c', 'a', 'b'].map((n) => insertInstance(db.pool, ivy.project.id, n)));
    for (const id of servers) await transaction(db.pool, (c) => allocatePorts(c, id, [web.id]));
    expect((await ivy.api.networks.get({ id: web.id })).subnets[0]).toMatchObject({ used: 4, available: 249 });
    await expectError(ivy.api.networks.delete({ id: web.id }), 'CONFLICT', 'network web has 3 ports: server a, server b, server c');
    await expectError(admin.api.networks.delete({ id: web.id }), 'CONFLICT', /has 3 ports/);
    for (const id of servers.slice(1)) await freePorts(db.pool, id);
    await expectError(ivy.api.networks.delete({ id: web.id }), 'CONFLICT', 'network web has 1 port: server c');
    await freePorts(db.pool, servers[0]!);
    await expect(ivy.api.networks.delete({ id: web.id })).resolves.toEqual({ id: web.id });
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM subnets WHERE network_id = $1', [web.id]);
    expect(rows[0].n).toBe(0);
  });

  it('makes a delete wait for an allocation in flight, then refuses it', async () => {

    const jo = await jobs.user({ name: 'jo', project: 'jos', role: 'member' });
    const net = await jo.api.networks.create({ name: 'jo-net', subnet: { cidr: '10.21.0.0/24' } });
    const server = await insertInstance(db.pool, jo.project.id, 'jo-server');
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await allocatePorts(client, server, [net.id]);
      const deleting = jo.api.networks.delete({ id: net.id });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await client.query('COMMIT');
      await expectError(deleting, 'CONFLICT', 'network jo-net has 1 port: server jo-server');
    } finally {
      client.release();
    }
  });
});

describe('seedPublicNetwork', () => {
  it('creates the shared public network once, with libvirt’s defaults, for every project to see', async () => {

    const kim = await jobs.user({ name: 'kim', project: 'kims', role: 'reader' });
    expect(publicNetworkDefaults).toMatchObject({ cidr: '192.168.122.0/24', gateway: '192.168.122.1', allocationStart: '192.168.122.10', allocationEnd: '192.168.122.254', bridge: 'virbr0' });
    expect(await seedPublicNetwork(db.pool, publicNetworkDefaults)).toBe(true);
    expect(await seedPublicNetwork(db.pool, { cidr: '10.99.0.0/24', bridge: 'br-other' })).toBe(false);
    const seen = (await kim.api.networks.list()).filter((n) => n.name === 'public');
    expect(seen).toEqual([
      {
        id: expect.any(String),
        name: 'public',
        projectId: null,
        shared: true,
        external: true,
        physicalNetwork: 'public',
        mtu: 1500,
        adminStateUp: true,
        description: '',
        bridge: 'virbr0',
        subnets: [expect.objectContaining({ cidr: '192.168.122.0/24', gateway: '192.168.122.1', allocationStart: '192.168.122.10', allocationEnd: '192.168.122.254', dnsServers: ['192.168.122.1'], available: 245 })],
        createdAt: expect.any(String),
      },
    ]);
    const kimMember = await jobs.user({ name: 'kim-member', project: 'kims', role: 'member' });
    await expectError(kimMember.api.networks.delete({ id: seen[0]!.id }), 'FORBIDDEN', /Network public is shared by another project/);
    await expect(seedPublicNetwork(db.pool, { cidr: '10.0.0.1/24', bridge: 'virbr1' })).rejects.toThrow(/did you mean 10.0.0.0\/24/);
  });
});

describe('resolveNetworks', () => {
  // Its own schema: which networks exist decides the default choice.
  let own: Awaited<ReturnType<typeof createTestSchema>>;
  beforeAll(async () => {
    own = await createTestSchema();
  });
  afterAll(async () => {
    await own?.drop();
  });
  const project = async (name: string) => ({
    id: (await own.pool.query<{ id: string }>('INSERT INTO projects (name) VALUES ($1) RETURNING id', [name])).rows[0]!.id,
  });
  const refusal = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(AsterError);
    return `${(error as AsterError).code}: ${(error as AsterError).message}`;
  };

  it('picks the project’s one network, else public (Nova’s auto), else asks the caller to choose', async () => {
    const lee = await project('lee');
    const auth = { project: lee, isAdmin: false };
    expect(await refusal(resolveNetworks(own.pool, auth, undefined))).toBe('InvalidInput: no network is available to this project');
    const first = await createNetwork(own.pool, { name: 'lee-a', projectId: lee.id, shared: false, bridge: null, subnet: { cidr: '10.0.0.0/24' } });
    expect((await resolveNetworks(own.pool, auth, undefined)).map((n) => n.id)).toEqual([first.id]);
    await createNetwork(own.pool, { name: 'lee-b', projectId: lee.id, shared: false, bridge: null, subnet: { cidr: '10.1.0.0/24' } });
    // Without public, two networks of its own are a choice for the caller.
    expect(await refusal(resolveNetworks(own.pool, auth, undefined))).toBe(
      'InvalidInput: several networks are available (lee-a, lee-b); choose one with networks: [<network id>]',
    );
    await seedPublicNetwork(own.pool, publicNetworkDefaults);
    const pub = { id: expect.any(String), name: 'public', projectId: null, shared: true, bridge: 'virbr0' };
    expect(await resolveNetworks(own.pool, auth, undefined)).toEqual([pub]);
    // A project without networks of its own gets public, even with other shared networks about.
    const max = await project('max');
    await createNetwork(own.pool, { name: 'ext', projectId: lee.id, shared: true, bridge: 'br-ext', subnet: { cidr: '10.2.0.0/24' } });
    expect(await resolveNetworks(own.pool, { project: max, isAdmin: false }, [])).toEqual([pub]);
  });

  it('checks asked-for networks: usable by the project, each once', async () => {
    const ned = await project('ned');
    const ola = await project('ola');
    const mine = await createNetwork(own.pool, { name: 'ned-net', projectId: ned.id, shared: false, bridge: null, subnet: { cidr: '10.3.0.0/24' } });
    const theirs = await createNetwork(own.pool, { name: 'ola-net', projectId: ola.id, shared: false, bridge: null, subnet: { cidr: '10.3.0.0/24' } });
    const { rows } = await own.pool.query<{ id: string }>(`SELECT id FROM networks WHERE name = 'public'`);
    const publicId = rows[0]!.id;
    const auth = { project: ned, isAdmin: false };
    expect((await resolveNetworks(own.pool, auth, [publicId, mine.id.toUpperCase()])).map((n) => n.name)).toEqual(['public', 'ned-net']);
    expect(await refusal(resolveNetworks(own.pool, auth, [theirs.id]))).toBe(`NotFound: Network ${theirs.id} not found`);
    expect(await refusal(resolveNetworks(own.pool, auth, ['not-an-id']))).toBe('NotFound: Network not-an-id not found');
    expect(await refusal(resolveNetworks(own.pool, auth, [mine.id, mine.id]))).toMatch(new RegExp(`^InvalidInput: networks: network ${mine.id} is asked for twice`));
    // Administrators may plug into any project's network.
    expect((await resolveNetworks(own.pool, { project: ned, isAdmin: true }, [theirs.id]))[0]).toMatchObject({ name: 'ola-net', projectId: ola.id });
  });
});
