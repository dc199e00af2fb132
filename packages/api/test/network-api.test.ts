import { transaction } from '@aster/db';
import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { allocatePorts } from '../src/compute/ipam.ts';
import { publicNetworkDefaults, seedPublicNetwork } from '../src/compute/networks.ts';
import { loadNetworkModel } from '../src/network/model.ts';
import { markPortStatus } from '../src/network/ports.ts';
import { ensureDefaultSecurityGroup } from '../src/network/securityGroups.ts';
import { expectError, insertInstance } from './harness.ts';
import { useNetworkJobs } from './network-harness.ts';

const db = useTestDatabase();
const net = useNetworkJobs(db);

/** Rows of every table of the network model, and the syncNetworks jobs sent: a refused change moves none. */
async function snapshot() {
  const { rows } = await db.pool.query(
    `SELECT (SELECT count(*)::int FROM networks) AS networks, (SELECT count(*)::int FROM subnets) AS subnets, (SELECT count(*)::int FROM ports) AS ports,
            (SELECT count(*)::int FROM routers) AS routers, (SELECT count(*)::int FROM floating_ips) AS fips,
            (SELECT count(*)::int FROM security_groups) AS groups, (SELECT count(*)::int FROM security_group_rules) AS rules,
            (SELECT count(*)::int FROM port_security_groups) AS memberships`,
  );
  return { ...rows[0], jobs: await net.syncJobs() };
}

describe('networking procedures', () => {
  it('builds a project network, a router to public and a floating IP, sending syncNetworks with each change', async () => {
    await seedPublicNetwork(db.pool, publicNetworkDefaults);
    const admin = await net.admin();
    const ana = await net.user({ name: 'ana', project: 'anas', role: 'member' });
    const pub = (await ana.api.networks.list()).find((n) => n.name === 'public')!;
    expect(pub).toMatchObject({ external: true, physicalNetwork: 'public', mtu: 1500 });

    const jobs0 = await net.syncJobs();
    const web = await ana.api.networks.create({ name: 'web', description: 'front' });
    expect(web).toMatchObject({ name: 'web', external: false, physicalNetwork: null, mtu: 1442, adminStateUp: true, description: 'front', subnets: [] });
    expect(await net.syncJobs()).toBe(jobs0 + 1);

    const sub = await ana.api.subnets.create({ networkId: web.id, cidr: '10.0.0.0/24', dnsServers: ['10.0.0.53'], hostRoutes: [{ destination: '10.9.0.0/16', nexthop: '10.0.0.9' }] });
    expect(sub).toMatchObject({ cidr: '10.0.0.0/24', gateway: '10.0.0.1', allocationStart: '10.0.0.2', hostRoutes: [{ destination: '10.9.0.0/16', nexthop: '10.0.0.9' }] });
    // The first DHCP subnet brings the metadata port.
    const meta = await db.pool.query(`SELECT host(ip) AS ip FROM ports WHERE network_id = $1 AND device_owner = 'network:distributed'`, [web.id]);
    expect(meta.rows).toEqual([{ ip: '10.0.0.2' }]);
    await ana.api.subnets.create({ networkId: web.id, cidr: '10.0.1.0/24' });
    expect((await ana.api.networks.get({ id: web.id })).subnets.map((s) => s.cidr)).toEqual(['10.0.0.0/24', '10.0.1.0/24']);

    const r1 = await ana.api.routers.create({ name: 'r1', externalGateway: { networkId: pub.id, enableSnat: true } });
    expect(r1.externalGateway).toMatchObject({ networkId: pub.id, networkName: 'public', enableSnat: true, ip: '192.168.122.10' });
    const withIface = await ana.api.routers.addInterface({ routerId: r1.id, subnetId: sub.id });
    expect(withIface.interfaces).toEqual([expect.objectContaining({ subnetId: sub.id, ip: '10.0.0.1', networkName: 'web' })]);

    const port = await ana.api.ports.create({ networkId: web.id, name: 'p1' });
    const groups = await ana.api.securityGroups.list();
    expect(groups.map((g) => g.name)).toEqual(['default']);
    expect(port).toMatchObject({ name: 'p1', ip: '10.0.0.3', deviceOwner: '', securityGroupIds: [groups[0]!.id], portSecurityEnabled: true, status: 'DOWN' });

    const fip = await ana.api.floatingIps.create({ floatingNetwork: 'public' });
    expect(fip).toMatchObject({ floatingNetworkName: 'public', portId: null, status: 'DOWN' });
    const associated = await ana.api.floatingIps.update({ id: fip.id, portId: port.id });
    expect(associated).toMatchObject({ portId: port.id, fixedIp: '10.0.0.3', routerId: r1.id, status: 'ACTIVE' });
    expect((await ana.api.ports.get({ id: port.id })).floatingIp).toEqual({ id: fip.id, ip: fip.floatingIp });

    // Deleting the network is refused while anything but its metadata port holds it, naming what does.
    await expectError(ana.api.networks.delete({ id: web.id }), 'CONFLICT', /^network web has 2 ports: port p1, router r1 interface$/);
    await expectError(ana.api.routers.delete({ id: r1.id }), 'CONFLICT', /router r1 has 1 interface/);
    await expectError(ana.api.routers.removeInterface({ routerId: r1.id, subnetId: sub.id }), 'CONFLICT', /needed by 1 floating IP/);

    const topo = await ana.api.networks.topology();
    expect(topo.routers.map((r) => r.name)).toEqual(['r1']);
    expect(topo.networks.map((n) => n.name)).toEqual(expect.arrayContaining(['web', 'public']));

    const model = await loadNetworkModel(db.pool);
    expect(model.ports.find((p) => p.id === port.id)).toMatchObject({ securityGroupIds: [groups[0]!.id], deviceOwner: '' });
    expect(model.securityGroups.find((g) => g.id === groups[0]!.id)!.rules).toHaveLength(2);
    expect(model.floatingIps.find((f) => f.id === fip.id)).toMatchObject({ portId: port.id, routerId: r1.id });

    // And everything comes apart again.
    await ana.api.floatingIps.update({ id: fip.id, portId: null });
    await ana.api.floatingIps.delete({ id: fip.id });
    await ana.api.ports.delete({ id: port.id });
    await ana.api.routers.removeInterface({ routerId: r1.id, subnetId: sub.id });
    await ana.api.routers.update({ id: r1.id, externalGateway: null });
    await ana.api.routers.delete({ id: r1.id });
    await ana.api.networks.delete({ id: web.id });
    const left = await db.pool.query(`SELECT count(*)::int AS n FROM ports WHERE network_id = $1`, [web.id]);
    expect(left.rows[0].n).toBe(0);
    await expect(admin.api.networks.get({ id: web.id })).rejects.toThrow(/not found/);
  });

  it('refuses bad input with a message naming the problem, and changes nothing', async () => {
    await seedPublicNetwork(db.pool, publicNetworkDefaults);
    const bo = await net.user({ name: 'bo', project: 'bos', role: 'member' });
    const cy = await net.user({ name: 'cy', project: 'cys', role: 'member' });
    const web = await bo.api.networks.create({ name: 'bo-web', subnet: { cidr: '10.1.0.0/24' } });
    const cyNet = await cy.api.networks.create({ name: 'cy-net', subnet: { cidr: '10.1.0.0/24' } }); // overlapping across projects: fine
    const r = await bo.api.routers.create({ name: 'bo-r' });
    const sg = await bo.api.securityGroups.create({ name: 'web' });
    const server = await insertInstance(db.pool, bo.project.id, 'bo-1');
    await db.pool.query('UPDATE instances SET security_groups = $2 WHERE id = $1', [server, [sg.id]]);
    await transaction(db.pool, (c) => allocatePorts(c, server, [web.id]));

    const before = await snapshot();
    await expectError(bo.api.subnets.create({ networkId: web.id, cidr: '10.1.0.128/25' }), 'BAD_REQUEST', 'cidr 10.1.0.128/25 overlaps subnet 10.1.0.0/24 of network bo-web');
    await expectError(bo.api.subnets.create({ networkId: web.id, cidr: '10.2.0.0/24', gateway: '10.3.0.1' }), 'BAD_REQUEST', 'gateway 10.3.0.1 is outside 10.2.0.0/24');
    await expectError(bo.api.floatingIps.create({ floatingNetwork: 'bo-web' }), 'BAD_REQUEST', 'network bo-web is not external: floating IPs come from an external network such as public');
    await expectError(
      bo.api.securityGroups.addRule({ securityGroupId: sg.id, direction: 'ingress', protocol: 'tcp', portRangeMin: 9000, portRangeMax: 80 }),
      'BAD_REQUEST',
      'portRangeMin 9000 is greater than portRangeMax 80',
    );
    await expectError(bo.api.routers.addInterface({ routerId: r.id, subnetId: cyNet.subnets[0]!.id }), 'NOT_FOUND', /^Subnet .* not found$/);
    await expectError(bo.api.networks.delete({ id: web.id }), 'CONFLICT', 'network bo-web has 1 port: server bo-1');
    await expectError(bo.api.securityGroups.delete({ id: sg.id }), 'CONFLICT', 'security group web is in use by 1 port: server bo-1');
    const dflt = (await bo.api.securityGroups.list()).find((g) => g.name === 'default')!;
    await expectError(bo.api.securityGroups.delete({ id: dflt.id }), 'CONFLICT', /default cannot be deleted/);
    await expectError(bo.api.networks.create({ name: 'bo-ext', external: true }), 'FORBIDDEN', /external: only a cloud administrator/);
    await expectError(bo.api.ports.create({ networkId: web.id, portSecurityEnabled: false, securityGroups: ['web'] }), 'BAD_REQUEST', /portSecurityEnabled: false needs a port without security groups/);
    await expectError(
      bo.api.securityGroups.addRule({ securityGroupId: sg.id, direction: 'ingress', remoteIpPrefix: '10.0.0.0/8', remoteGroupId: sg.id }),
      'BAD_REQUEST',
      /give one or the other, not both/,
    );
    await expectError(bo.api.securityGroups.addRule({ securityGroupId: sg.id, direction: 'egress' }), 'CONFLICT', /^an identical rule exists: [0-9a-f-]+$/);
    const fip = bo.api.floatingIps.create({ floatingNetwork: 'public', portId: (await bo.api.ports.list({ serverId: server }))[0]!.id });
    await expectError(fip, 'BAD_REQUEST', 'no router joins network bo-web to public: add an interface on a router with a gateway on public');
    expect(await snapshot()).toEqual(before);

    // A rule normalised: the prefix's host bits dropped.
    const rule = await bo.api.securityGroups.addRule({ securityGroupId: sg.id, direction: 'ingress', protocol: 'tcp', portRangeMin: 22, remoteIpPrefix: '10.0.0.5/8' });
    expect(rule).toMatchObject({ protocol: 'tcp', portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: '10.0.0.0/8' });
    expect(await net.syncJobs()).toBe(before.jobs + 1);
  });

  it('makes the default group once under concurrency, with Neutron’s two rules', async () => {
    const { rows } = await db.pool.query<{ id: string }>(`INSERT INTO projects (name) VALUES ('race') RETURNING id`);
    const ids = await Promise.all(Array.from({ length: 8 }, () => ensureDefaultSecurityGroup(db.pool, rows[0]!.id)));
    expect(new Set(ids).size).toBe(1);
    const rules = await db.pool.query(`SELECT direction, remote_group_id FROM security_group_rules WHERE security_group_id = $1 ORDER BY direction`, [ids[0]]);
    expect(rules.rows).toEqual([
      { direction: 'egress', remote_group_id: null },
      { direction: 'ingress', remote_group_id: ids[0] },
    ]);
  });

  it('counts network quotas per project and refuses past them', async () => {
    const dee = await net.user({ name: 'dee', project: 'dees', role: 'member' });
    const admin = await net.admin();
    await admin.api.quotas.set({ project: 'dees', limits: { routers: 1 } });
    await dee.api.routers.create({ name: 'one' });
    const before = await snapshot();
    await expectError(dee.api.routers.create({ name: 'two' }), 'FORBIDDEN', /^Quota exceeded for routers: 1 requested, 1 of 1 in use \(1 over the limit\)$/);
    expect(await snapshot()).toEqual(before);
    expect((await dee.api.limits.get()).usage).toMatchObject({ routers: 1, networks: 0 });
  });

  it('gives instance ports their owner, groups and a status the worker sets', async () => {
    const eve = await net.user({ name: 'eve', project: 'eves', role: 'member' });
    const n = await eve.api.networks.create({ name: 'eve-net', subnet: { cidr: '10.5.0.0/24' } });
    const server = await insertInstance(db.pool, eve.project.id, 'eve-1');
    const dflt = await ensureDefaultSecurityGroup(db.pool, eve.project.id);
    await db.pool.query('UPDATE instances SET security_groups = $2 WHERE id = $1', [server, [dflt]]);
    const [p] = await transaction(db.pool, (c) => allocatePorts(c, server, [n.id]));
    const port = await eve.api.ports.get({ id: p!.id });
    expect(port).toMatchObject({ deviceOwner: 'compute:nova', deviceId: server, projectId: eve.project.id, securityGroupIds: [dflt], server: { id: server, name: 'eve-1' } });
    const seq = async () => (await db.pool.query(`SELECT change_seq::text AS s FROM instances WHERE id = $1`, [server])).rows[0].s as string;
    const s0 = await seq();
    expect(await markPortStatus(db.pool, p!.id, 'ACTIVE', 'host-1')).toBe(true);
    expect(await markPortStatus(db.pool, p!.id, 'ACTIVE', 'host-1')).toBe(false);
    expect(BigInt(await seq())).toBeGreaterThan(BigInt(s0));
    expect(await eve.api.ports.get({ id: p!.id })).toMatchObject({ status: 'ACTIVE', host: 'host-1' });
  });
});
