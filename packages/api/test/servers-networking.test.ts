import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { useComputeStack, waitForStatus } from './compute-harness.ts';
import { expectError, userSession } from './harness.ts';

const db = useTestDatabase();
// One FakeDriver host: servers are built, so their ports are made as a deployed cloud makes them.
const env = useComputeStack(db, { host: 'sn-host', image: 'sn-image' });

async function member(name: string) {
  const s = await userSession(db.pool, env.stack.admin.api, { name, project: name, role: 'member' });
  return { ...s, api: env.stack.api(s.token) };
}
type Api = Awaited<ReturnType<typeof member>>['api'];

const launch = async (api: Api, name: string, extra: { networks?: string[]; securityGroups?: string[] } = {}) => {
  const [created] = await api.servers.create({ name, flavorId: env.tiny, imageId: env.imageId, ...extra });
  return waitForStatus(api, created!.id, 'ACTIVE');
};

/** The networks the server asked for, as the scheduler and the build read them. */
const requested = async (id: string) =>
  (await db.pool.query<{ names: string[] }>(`SELECT ARRAY(SELECT n.name FROM unnest(i.requested_networks) WITH ORDINALITY r(id, k) JOIN networks n ON n.id = r.id ORDER BY r.k) AS names FROM instances i WHERE i.id = $1`, [id])).rows[0]!.names;

describe('servers.create with security groups', () => {
  it('takes groups by name and by id, gives every port of the server those groups, and names an unknown one', async () => {
    const ann = await member('sn-ann');
    const net = await ann.api.networks.create({ name: 'sn-ann-net', subnet: { cidr: '10.40.0.0/24' } });
    const web = await ann.api.securityGroups.create({ name: 'web' });
    const ssh = await ann.api.securityGroups.create({ name: 'ssh' });

    const server = await launch(ann.api, 'sn-grouped', { networks: [net.id, (await ann.api.networks.list()).find((n) => n.name === 'public')!.id], securityGroups: ['web', ssh.id.toUpperCase()] });
    expect(server.ports).toHaveLength(2);
    for (const port of server.ports) expect(port.securityGroups).toEqual([{ id: ssh.id, name: 'ssh' }, { id: web.id, name: 'web' }]);
    const ports = await ann.api.ports.list({ serverId: server.id });
    expect(ports.map((p) => [p.networkName, [...p.securityGroupIds].sort()])).toEqual(
      expect.arrayContaining([
        ['sn-ann-net', [ssh.id, web.id].sort()],
        ['public', [ssh.id, web.id].sort()],
      ]),
    );

    // Without groups a server gets the project's default group.
    const plain = await launch(ann.api, 'sn-plain', { networks: [net.id] });
    const dflt = (await ann.api.securityGroups.list()).find((g) => g.name === 'default')!;
    expect(plain.ports.map((p) => p.securityGroups)).toEqual([[{ id: dflt.id, name: 'default' }]]);

    // An unknown group, by name or id, is refused by name and nothing is launched.
    const before = (await ann.api.servers.list({})).servers.length;
    await expectError(ann.api.servers.create({ name: 'sn-no', flavorId: env.tiny, imageId: env.imageId, securityGroups: ['web', 'nope'] }), 'NOT_FOUND', /^securityGroups: no security group nope in this project$/);
    // Another project's group is unknown here.
    const bea = await member('sn-bea');
    const theirs = await bea.api.securityGroups.create({ name: 'theirs' });
    await expectError(ann.api.servers.create({ name: 'sn-no', flavorId: env.tiny, imageId: env.imageId, securityGroups: [theirs.id] }), 'NOT_FOUND', new RegExp(`^securityGroups: no security group ${theirs.id} in this project$`));
    expect((await ann.api.servers.list({})).servers.length).toBe(before);

    for (const s of [server, plain]) {
      await ann.api.servers.delete({ id: s.id });
      await waitForStatus(ann.api, s.id, 'DELETED').catch(() => undefined);
    }
  });
});

describe('servers.create without networks (Nova’s auto)', () => {
  it('plugs into the project’s only own network; with two own networks or none, into public', async () => {
    const cy = await member('sn-cy');
    const none = await launch(cy.api, 'sn-none');
    expect(await requested(none.id)).toEqual(['public']);
    expect(Object.keys(none.addresses)).toEqual(['public']);

    const only = await cy.api.networks.create({ name: 'sn-cy-a', subnet: { cidr: '10.41.0.0/24' } });
    const one = await launch(cy.api, 'sn-one');
    expect(await requested(one.id)).toEqual([only.name]);
    expect(one.ports.map((p) => p.networkId)).toEqual([only.id]);
    expect(one.addresses['sn-cy-a']![0]!.ip).toMatch(/^10\.41\.0\./);

    await cy.api.networks.create({ name: 'sn-cy-b', subnet: { cidr: '10.42.0.0/24' } });
    const two = await launch(cy.api, 'sn-two');
    expect(await requested(two.id)).toEqual(['public']);

    for (const s of [none, one, two]) await cy.api.servers.delete({ id: s.id });
  });
});

describe('servers.addFloatingIp and removeFloatingIp', () => {
  it('associates with the first port a router joins to the floating IP’s network, and takes it off again', async () => {
    const dee = await member('sn-dee');
    const pub = (await dee.api.networks.list()).find((n) => n.name === 'public')!;
    const lone = await dee.api.networks.create({ name: 'sn-lone', subnet: { cidr: '10.43.0.0/24' } });
    const routed = await dee.api.networks.create({ name: 'sn-routed', subnet: { cidr: '10.44.0.0/24' } });
    const router = await dee.api.routers.create({ name: 'sn-r', externalGateway: { networkId: pub.id, enableSnat: true } });
    const server = await launch(dee.api, 'sn-fip', { networks: [lone.id, routed.id] });
    const fip = await dee.api.floatingIps.create({ floatingNetwork: 'public' });

    // No router joins either network to public yet: refused, naming the networks.
    await expectError(
      dee.api.servers.addFloatingIp({ id: server.id, address: fip.floatingIp }),
      'BAD_REQUEST',
      /^no router joins a network of server sn-fip \(sn-lone, sn-routed\) to public: add an interface on a router with a gateway on public$/,
    );
    await dee.api.routers.addInterface({ routerId: router.id, subnetId: routed.subnets[0]!.id });

    const added = await dee.api.servers.addFloatingIp({ id: server.id, address: fip.floatingIp });
    const routedPort = added.ports.find((p) => p.networkId === routed.id)!;
    expect(routedPort.floatingIp).toEqual({ id: fip.id, ip: fip.floatingIp });
    expect(added.ports.find((p) => p.networkId === lone.id)!.floatingIp).toBeNull();
    expect(await dee.api.floatingIps.get({ id: fip.id })).toMatchObject({ portId: routedPort.id, routerId: router.id, server: { id: server.id, name: 'sn-fip' }, status: 'ACTIVE' });
    // Asked again: nothing changes.
    await expect(dee.api.servers.addFloatingIp({ id: server.id, address: fip.floatingIp })).resolves.toMatchObject({ id: server.id });

    // Unknown addresses and another project's floating IP are not found; another server's is refused on removal.
    await expectError(dee.api.servers.addFloatingIp({ id: server.id, address: '192.0.2.1' }), 'NOT_FOUND', /^Floating IP 192\.0\.2\.1 not found$/);
    const eli = await member('sn-eli');
    const hers = await eli.api.floatingIps.create({ floatingNetwork: 'public' });
    await expectError(dee.api.servers.addFloatingIp({ id: server.id, address: hers.floatingIp }), 'NOT_FOUND', new RegExp(`^Floating IP ${hers.floatingIp.replace(/\./g, '\\.')} not found$`));
    await expectError(eli.api.servers.addFloatingIp({ id: server.id, address: hers.floatingIp }), 'NOT_FOUND', new RegExp(`^Server ${server.id} not found$`));
    const spare = await dee.api.floatingIps.create({ floatingNetwork: 'public' });
    await expectError(dee.api.servers.removeFloatingIp({ id: server.id, address: spare.floatingIp }), 'CONFLICT', /is not associated with server sn-fip$/);

    // A reader may look but not change.
    const reader = await userSession(db.pool, env.stack.admin.api, { name: 'sn-dee-reader', project: 'sn-dee', role: 'reader' });
    await expectError(env.stack.api(reader.token).servers.removeFloatingIp({ id: server.id, address: fip.floatingIp }), 'FORBIDDEN');

    const removed = await dee.api.servers.removeFloatingIp({ id: server.id, address: fip.floatingIp });
    expect(removed.ports.every((p) => p.floatingIp === null)).toBe(true);
    expect(await dee.api.floatingIps.get({ id: fip.id })).toMatchObject({ portId: null, routerId: null, status: 'DOWN' });
    await expectError(dee.api.servers.removeFloatingIp({ id: server.id, address: fip.floatingIp }), 'CONFLICT', /is not associated with server sn-fip$/);
    await dee.api.servers.delete({ id: server.id });
  });
});
