// networks.explainConnectivity against a private OVN (NB, SB and northd of the test's own): the topology built through
// the API, written into NB as the network worker does, and each answer read from ovn-trace.
import { transaction } from '@aster/db';
import { useTestDatabase } from '@aster/db/testing';
import { desiredNb, OvsdbClient, reconcile } from '@aster/ovn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemons } from '../../ovn/test/daemons.ts';
import { allocatePorts } from '../src/compute/ipam.ts';
import { publicNetworkDefaults, seedPublicNetwork } from '../src/compute/networks.ts';
import { loadNetworkModel } from '../src/network/model.ts';
import { caller, expectError, insertInstance } from './harness.ts';
import { useNetworkJobs } from './network-harness.ts';

const db = useTestDatabase();
const net = useNetworkJobs(db);
const ovn = new Daemons();
let nb: OvsdbClient;

beforeAll(async () => {
  ovn.startDb('nb');
  ovn.startDb('sb');
  ovn.startNorthd();
  nb = await OvsdbClient.connect(ovn.nb);
});
afterAll(() => {
  nb?.close();
  ovn.stopAll();
});

/** What the network worker does after a change: NB made to match the model; then northd's flows are waited for. */
async function sync() {
  const { rows } = await db.pool.query<{ id: string }>('SELECT id::text FROM cloud_identity');
  const cloudId = rows[0]!.id;
  await reconcile(nb, desiredNb(await loadNetworkModel(db.pool), { cloudId, gatewayChassis: ['explain-host'] }), { cloudId, mode: 'repair' });
  ovn.syncNorthd();
}

async function session(spec: { name: string; project: string }) {
  const s = await net.user({ ...spec, role: 'member' });
  return { ...s, api: caller(db.pool, { token: s.token, jobs: net.jobs, config: { ovnSbDb: ovn.sb } }) };
}

/** A server with a port on each network, in the given groups (as placement makes them). */
async function server(projectId: string, name: string, networkIds: string[], groupIds: string[]) {
  const id = await insertInstance(db.pool, projectId, name);
  await db.pool.query('UPDATE instances SET security_groups = $2 WHERE id = $1', [id, groupIds]);
  const [port] = await transaction(db.pool, (c) => allocatePorts(c, id, networkIds));
  return { id, ip: port!.ip, portId: port!.id };
}

describe('networks.explainConnectivity', () => {
  it('names the deciding hop: a missing rule, a detached interface, a released floating IP, and the path where traffic passes', async () => {
    await seedPublicNetwork(db.pool, publicNetworkDefaults);
    const ana = await session({ name: 'ana', project: 'anas' });
    const front = await ana.api.networks.create({ name: 'front', subnet: { cidr: '10.0.0.0/24' } });
    const back = await ana.api.networks.create({ name: 'back', subnet: { cidr: '10.0.1.0/24' } });
    const pub = (await ana.api.networks.list()).find((n) => n.name === 'public')!;
    const r1 = await ana.api.routers.create({ name: 'r1', externalGateway: { networkId: pub.id, enableSnat: true } });
    await ana.api.routers.addInterface({ routerId: r1.id, subnetId: front.subnets[0]!.id });
    await ana.api.routers.addInterface({ routerId: r1.id, subnetId: back.subnets[0]!.id });
    const dflt = (await ana.api.securityGroups.list()).find((g) => g.name === 'default')!;
    // `web` with no rules at all (a new group's egress rules removed).
    const web = await ana.api.securityGroups.create({ name: 'web' });
    for (const rule of web.rules) await ana.api.securityGroups.removeRule({ id: rule.id });
    const a = await server(ana.project.id, 'a', [front.id], [dflt.id]);
    const b = await server(ana.project.id, 'b', [front.id], [dflt.id]);
    const web1 = await server(ana.project.id, 'web-1', [back.id], [web.id]);
    await sync();
    const gwIp = r1.externalGateway!.ip!;

    // Same network: default's rule lets its members in.
    const same = await ana.api.networks.explainConnectivity({ from: { serverId: a.id }, to: { serverId: b.id }, protocol: 'tcp', port: 22 });
    expect(same).toMatchObject({ verdict: 'allowed', reason: 'allowed: switch front, to server b' });
    expect(same.trace).toBeUndefined();

    // Routed, and no rule of `web` lets tcp/22 in.
    const missing = await ana.api.networks.explainConnectivity({ from: { serverId: a.id }, to: { serverId: web1.id }, protocol: 'tcp', port: 22 });
    expect(missing).toMatchObject({ verdict: 'dropped', reason: 'dropped by security group `web` of server web-1: no ingress rule allows tcp/22' });
    expect(missing.hops.map((h) => `${h.kind} ${h.name}`)).toEqual(['switch front', 'acl default', 'router r1', 'switch back', 'acl server web-1']);

    await ana.api.securityGroups.addRule({ securityGroupId: web.id, direction: 'ingress', protocol: 'tcp', portRangeMin: 22, portRangeMax: 22 });
    await sync();
    const routed = await ana.api.networks.explainConnectivity({ from: { serverId: a.id }, to: { serverId: web1.id }, protocol: 'tcp', port: 22 });
    expect(routed).toMatchObject({ verdict: 'allowed', reason: 'allowed: switch front → router r1 → switch back, to server web-1' });
    expect(routed.hops).toContainEqual({ kind: 'acl', name: 'web', detail: 'an ingress rule of security group web allows tcp/22 (server web-1)' });

    // Egress: `web` has no egress rule; `default` lets everything out, through the router's SNAT.
    const noEgress = await ana.api.networks.explainConnectivity({ from: { serverId: web1.id }, to: { outside: true }, protocol: 'tcp', port: 80 });
    expect(noEgress).toMatchObject({ verdict: 'dropped', reason: 'dropped: no egress rule of security group `web` of server web-1 allows tcp/80 to 8.8.8.8' });
    const out = await ana.api.networks.explainConnectivity({ from: { serverId: a.id }, to: { outside: true }, protocol: 'icmp' });
    expect(out.verdict).toBe('allowed');
    expect(out.reason).toMatch(new RegExp(`^allowed: switch front → router r1 → outside \\(8\\.8\\.8\\.8\\), SNAT to ${gwIp.replace(/\./g, '\\.')}`));
    expect(out.hops).toContainEqual({ kind: 'nat', name: 'SNAT', detail: `SNAT to ${gwIp}` });

    // From outside, only through a floating IP; once associated, ovn-trace shows its DNAT.
    const noFip = await ana.api.networks.explainConnectivity({ from: { outside: true }, to: { serverId: web1.id }, protocol: 'tcp', port: 22 });
    expect(noFip).toEqual({ verdict: 'no-route', reason: 'no route: server web-1 has no floating IP: from outside it is reached only through one', hops: [] });
    const fip = await ana.api.floatingIps.create({ floatingNetwork: 'public', portId: web1.portId });
    await sync();
    const inbound = await ana.api.networks.explainConnectivity({ from: { outside: true }, to: { floatingIp: fip.floatingIp }, protocol: 'tcp', port: 22 });
    expect(inbound).toMatchObject({
      verdict: 'allowed',
      reason: `allowed: floating IP ${fip.floatingIp} → ${web1.ip} (server web-1): switch public → router r1 → switch back, to server web-1`,
    });
    const inbound80 = await ana.api.networks.explainConnectivity({ from: { outside: true, ip: '192.168.122.1' }, to: { serverId: web1.id }, protocol: 'tcp', port: 80 });
    expect(inbound80.reason).toBe('dropped by security group `web` of server web-1: no ingress rule allows tcp/80');

    // Released: no longer associated.
    await ana.api.floatingIps.update({ id: fip.id, portId: null });
    await sync();
    const released = await ana.api.networks.explainConnectivity({ from: { outside: true }, to: { floatingIp: fip.floatingIp }, protocol: 'tcp', port: 22 });
    expect(released).toEqual({ verdict: 'no-route', reason: `no route: floating IP ${fip.floatingIp} is not associated with any port`, hops: [] });

    // The interface on back detached: the answer names the subnet and the router.
    await ana.api.routers.removeInterface({ routerId: r1.id, subnetId: back.subnets[0]!.id });
    await sync();
    const detached = await ana.api.networks.explainConnectivity({ from: { serverId: a.id }, to: { serverId: web1.id }, protocol: 'tcp', port: 22 });
    expect(detached).toEqual({ verdict: 'no-route', reason: 'no route: subnet 10.0.1.0/24 (back) is not attached to router r1', hops: [] });
    const stranded = await ana.api.networks.explainConnectivity({ from: { serverId: web1.id }, to: { outside: true }, protocol: 'icmp' });
    expect(stranded.reason).toBe('no route: network back is not attached to any router');

    // An administrator also gets ovn-trace's own text.
    const admin = await net.admin();
    const adminApi = caller(db.pool, { token: admin.token, config: { ovnSbDb: ovn.sb } });
    const traced = await adminApi.networks.explainConnectivity({ from: { serverId: a.id }, to: { serverId: b.id }, protocol: 'udp', port: 53 });
    expect(traced.trace).toContain('ls_in_acl');
  });

  it("never names another project's objects to a tenant", async () => {
    await seedPublicNetwork(db.pool, publicNetworkDefaults);
    const cy = await session({ name: 'cy', project: 'cys' });
    const dee = await session({ name: 'dee', project: 'dees' });
    const pub = (await cy.api.networks.list()).find((n) => n.name === 'public')!;
    const setup = async (s: typeof cy, prefix: string) => {
      const n = await s.api.networks.create({ name: `${prefix}-net`, subnet: { cidr: '10.5.0.0/24' } });
      const r = await s.api.routers.create({ name: `${prefix}-router`, externalGateway: { networkId: pub.id } });
      await s.api.routers.addInterface({ routerId: r.id, subnetId: n.subnets[0]!.id });
      const g = await s.api.securityGroups.create({ name: `${prefix}-secret-group` });
      return { n, r, g, vm: await server(s.project.id, `${prefix}-vm`, [n.id], [g.id]) };
    };
    const mine = await setup(cy, 'cy');
    const theirs = await setup(dee, 'dee');
    const fip = await dee.api.floatingIps.create({ floatingNetwork: 'public', portId: theirs.vm.portId });
    await sync();

    const answer = await cy.api.networks.explainConnectivity({ from: { serverId: mine.vm.id }, to: { floatingIp: fip.floatingIp }, protocol: 'tcp', port: 22 });
    expect(answer.verdict).toBe('dropped');
    expect(answer.reason).toBe('dropped by the security groups of the destination (a port of another project): none of their ingress rules allows tcp/22');
    const text = JSON.stringify(answer);
    for (const secret of ['dee-vm', 'dee-net', 'dee-router', 'dee-secret-group', theirs.vm.ip]) expect(text).not.toContain(secret);
    expect(answer.hops.map((h) => h.name)).toContain('a router of another project');
    expect(answer.trace).toBeUndefined();

    // Their server is not theirs to name, nor a source.
    await expectError(cy.api.networks.explainConnectivity({ from: { serverId: mine.vm.id }, to: { serverId: theirs.vm.id }, protocol: 'icmp' }), 'NOT_FOUND', /^Server .* not found$/);
    await expectError(cy.api.networks.explainConnectivity({ from: { floatingIp: fip.floatingIp }, to: { outside: true }, protocol: 'icmp' }), 'NOT_FOUND', /not found/);
    await expectError(cy.api.networks.explainConnectivity({ from: { outside: true }, to: { outside: true }, protocol: 'tcp', port: 1 }), 'BAD_REQUEST', /both outside/);
  });
});
