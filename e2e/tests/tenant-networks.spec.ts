import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from '@playwright/test';
import { adminCredentials, signInToApi, type AsterClient } from '../helpers/api.ts';
import { consoleShows, deleteServer, reachStatus, type Server } from '../helpers/guest.ts';
import { Probe, within } from '../helpers/probe.ts';

const run = promisify(execFile);

/**
 * Tenant networking on the real host: OVN switches, routers, NAT and ACLs carrying real guests' traffic. Probes
 * (namespaces plugged into br-int as ports of a network) send traffic from inside project networks; guests
 * listen on TCP 8080 from their user data and report, on their console, what they reach.
 */
test.describe.configure({ mode: 'serial' });
test.setTimeout(600_000);

const LISTENER = `#!/bin/sh
# TCP 8080 answers with the server's name; the host's listener is fetched every 2 s (through SNAT).
( while true; do echo "hello from $(hostname)" | nc -l -p 8080 >/dev/null 2>&1; done ) </dev/null >/dev/null 2>&1 &
( while true; do
    if out=$(timeout 3 wget -q -O - "http://192.168.122.1:HOSTPORT/$(hostname)" 2>/dev/null); then echo "aster-net outside=$out"; fi
    sleep 2
  done ) </dev/null >/dev/console 2>&1 &
exit 0
`;

let admin: AsterClient;
let hostServer: HttpServer;
let hostPort = 0;
/** Source addresses the host's listener saw, by the guest name in the path. */
const seenFrom = new Map<string, string>();
const cleanups: (() => Promise<unknown>)[] = [];

test.beforeAll(async () => {
  admin = await signInToApi(adminCredentials());
  hostServer = createServer((req, res) => {
    const from = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    seenFrom.set((req.url ?? '/').slice(1), from);
    res.end(from);
  });
  await new Promise<void>((resolve) => hostServer.listen(0, '0.0.0.0', resolve));
  hostPort = (hostServer.address() as AddressInfo).port;
});

test.afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  hostServer?.close();
});

async function tenant(name: string): Promise<AsterClient> {
  const unique = `${name}-${Date.now().toString(36)}`;
  const password = `pw-${unique}-${Math.random().toString(36).slice(2)}`;
  const project = await admin.projects.create.mutate({ name: unique });
  const user = await admin.users.create.mutate({ name: unique, password, project: project.name, role: 'member' });
  cleanups.push(() => admin.projects.delete.mutate({ id: project.id }));
  cleanups.push(() => admin.users.delete.mutate({ id: user.id }));
  return signInToApi({ username: unique, password }, project.name);
}

/** A network with one DHCP subnet, and a router with a gateway on `public` and an interface on it. */
async function routedNetwork(client: AsterClient, name: string, cidr: string) {
  const network = await client.networks.create.mutate({ name, subnet: { cidr } });
  const router = await client.routers.create.mutate({ name: `${name}-router`, externalGateway: { networkId: (await publicNetwork(client)).id } });
  await client.routers.addInterface.mutate({ routerId: router.id, subnetId: network.subnets[0]!.id });
  cleanups.push(async () => {
    await client.routers.removeInterface.mutate({ routerId: router.id, subnetId: network.subnets[0]!.id }).catch(() => undefined);
    await client.routers.delete.mutate({ id: router.id }).catch(() => undefined);
    await client.networks.delete.mutate({ id: network.id }).catch(() => undefined);
  });
  return { network, router: await client.routers.get.query({ id: router.id }) };
}

async function publicNetwork(client: AsterClient) {
  const found = (await client.networks.list.query()).find((n) => n.name === 'public');
  expect(found?.external, 'the launcher seeds public as an external network').toBe(true);
  return found!;
}

async function launch(client: AsterClient, name: string, networkId: string, extra: { securityGroups?: string[]; keyName?: string } = {}): Promise<Server> {
  const image = (await client.images.list.query({})).find((i) => i.name === 'aster-tiny' && i.status === 'active')!;
  const tiny = (await client.flavors.list.query({})).find((f) => f.name === 'm1.tiny')!;
  const [created] = await client.servers.create.mutate({
    name,
    flavorId: tiny.id,
    imageId: image.id,
    networks: [networkId],
    userData: LISTENER.replace('HOSTPORT', String(hostPort)),
    ...extra,
  });
  cleanups.push(() => deleteServer(client, created!.id));
  await reachStatus(client, created!.id, 'ACTIVE');
  await consoleShows(client, created!.id, /aster-guest ready hostname=\S+ instance=\S+/);
  return client.servers.get.query({ id: created!.id });
}

const addressOf = (server: Server, network: string) => server.addresses[network]?.[0]?.ip;

test('two projects on the same 10.0.0.0/24: DHCP, their router, SNAT to the host, and no way into each other', async () => {
  const alice = await tenant('net-alice');
  const bob = await tenant('net-bob');
  const a = await routedNetwork(alice, 'lan', '10.0.0.0/24');
  const b = await routedNetwork(bob, 'lan', '10.0.0.0/24');
  const [ga, gb] = await Promise.all([launch(alice, 'alpha', a.network.id), launch(bob, 'bravo', b.network.id)]);
  const ipA = addressOf(ga, 'lan')!;
  const ipB = addressOf(gb, 'lan')!;
  expect(ipA).toMatch(/^10\.0\.0\.\d+$/);
  expect(ipB).toMatch(/^10\.0\.0\.\d+$/);

  // Each guest got its address by DHCP (the console's lease line) and reaches the host through its router's SNAT.
  await consoleShows(alice, ga.id, new RegExp(`aster-net outside=${a.router.externalGateway!.ip!.replace(/\./g, '\\.')}`));
  await consoleShows(bob, gb.id, new RegExp(`aster-net outside=${b.router.externalGateway!.ip!.replace(/\./g, '\\.')}`));
  expect(seenFrom.get('alpha')).toBe(a.router.externalGateway!.ip);
  expect(seenFrom.get('bravo')).toBe(b.router.externalGateway!.ip);

  // A probe in Alice's network reaches Alice's guest (same default group), never Bob's, even at Bob's address.
  const probe = await Probe.plug(alice, { networkId: a.network.id, name: 'probe-a' });
  cleanups.push(() => probe.remove());
  await within(async () => (await probe.tcp(ipA, 8080, 500)) === 'hello from alpha\n', true, 30_000, 'alice reaches alpha');
  if (ipB !== ipA) expect(await probe.tcp(ipB, 8080, 1500)).toBeNull();
  expect(await probe.ping(a.network.subnets[0]!.gateway!)).toBe(true);
});

test('two networks joined by a router: guests reach each other only while both interfaces are attached', async () => {
  const carol = await tenant('net-carol');
  const front = await routedNetwork(carol, 'front', '10.1.0.0/24');
  const back = await carol.networks.create.mutate({ name: 'back', subnet: { cidr: '10.2.0.0/24' } });
  cleanups.push(() => carol.networks.delete.mutate({ id: back.id }));
  await carol.routers.addInterface.mutate({ routerId: front.router.id, subnetId: back.subnets[0]!.id });
  const db = await launch(carol, 'db', back.id);
  const ip = addressOf(db, 'back')!;
  const probe = await Probe.plug(carol, { networkId: front.network.id, name: 'probe-front' });
  cleanups.push(() => probe.remove());
  await within(async () => (await probe.tcp(ip, 8080, 500)) === 'hello from db\n', true, 30_000, 'front reaches db through the router');

  await carol.routers.removeInterface.mutate({ routerId: front.router.id, subnetId: back.subnets[0]!.id });
  await within(async () => (await probe.tcp(ip, 8080, 500)) !== null, false, 10_000, 'detached: front no longer reaches db');
  await carol.routers.addInterface.mutate({ routerId: front.router.id, subnetId: back.subnets[0]!.id });
  await within(async () => (await probe.tcp(ip, 8080, 500)) === 'hello from db\n', true, 10_000, 'attached again');
  await carol.routers.removeInterface.mutate({ routerId: front.router.id, subnetId: back.subnets[0]!.id });
});

test('security groups on a running guest: a rule opens TCP 8080 and ICMP within a second, its removal closes them, replies to the guest always pass', async () => {
  const dave = await tenant('net-dave');
  const { network, router } = await routedNetwork(dave, 'app', '10.3.0.0/24');
  const locked = await dave.securityGroups.create.mutate({ name: 'locked' });
  const web = await launch(dave, 'web', network.id, { securityGroups: ['locked'] });
  const ip = addressOf(web, 'app')!;
  const probe = await Probe.plug(dave, { networkId: network.id, name: 'probe-app' });
  cleanups.push(() => probe.remove());
  await within(() => probe.ping(router.interfaces[0]!.ip), true, 30_000, 'the probe is bound');

  // Closed: a new group has egress rules only.
  expect(await probe.tcp(ip, 8080, 1500)).toBeNull();
  expect(await probe.ping(ip)).toBe(false);
  // The guest's own connections still get their replies (stateful): it keeps reaching the host.
  await consoleShows(dave, web.id, /aster-net outside=/);

  const tcpRule = await dave.securityGroups.addRule.mutate({ securityGroupId: locked.id, direction: 'ingress', protocol: 'tcp', portRangeMin: 8080, portRangeMax: 8080, remoteIpPrefix: '0.0.0.0/0' });
  const opened = await within(async () => (await probe.tcp(ip, 8080, 300)) === 'hello from web\n', true, 10_000, 'tcp/8080 allowed');
  const icmpRule = await dave.securityGroups.addRule.mutate({ securityGroupId: locked.id, direction: 'ingress', protocol: 'icmp', remoteIpPrefix: '0.0.0.0/0' });
  const pinged = await within(() => probe.ping(ip), true, 10_000, 'icmp allowed');

  await dave.securityGroups.removeRule.mutate({ id: tcpRule.id });
  const closed = await within(async () => (await probe.tcp(ip, 8080, 300)) !== null, false, 10_000, 'tcp/8080 blocked again');
  await dave.securityGroups.removeRule.mutate({ id: icmpRule.id });
  const unpinged = await within(() => probe.ping(ip), false, 10_000, 'icmp blocked again');
  // Each time includes the probe's own attempts (a new process and a connect timeout of 300 ms, or a ping of up
  // to 1 s): the bench measures the rule's own delay.
  test.info().annotations.push({ type: 'rule effect ms', description: JSON.stringify({ opened, pinged, closed, unpinged }) });
  for (const ms of [opened, closed]) expect(ms).toBeLessThan(2000);
});

test('a floating IP: the host reaches the guest at it, over TCP and SSH with the key pair; released, it does not', async () => {
  const erin = await tenant('net-erin');
  const { network } = await routedNetwork(erin, 'dmz', '10.4.0.0/24');
  const dir = mkdtempSync(join(tmpdir(), 'aster-ssh-'));
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
  await erin.keypairs.import.mutate({ name: 'erin-key', publicKey: readFileSync(join(dir, 'key.pub'), 'utf8').trim() });
  const sg = await erin.securityGroups.create.mutate({ name: 'ssh-web' });
  for (const port of [22, 8080]) await erin.securityGroups.addRule.mutate({ securityGroupId: sg.id, direction: 'ingress', protocol: 'tcp', portRangeMin: port, portRangeMax: port, remoteIpPrefix: '0.0.0.0/0' });
  const box = await launch(erin, 'box', network.id, { securityGroups: ['ssh-web'], keyName: 'erin-key' });
  const port = (await erin.ports.list.query({ serverId: box.id }))[0]!;
  const fip = await erin.floatingIps.create.mutate({ floatingNetwork: 'public', portId: port.id });
  cleanups.push(() => erin.floatingIps.delete.mutate({ id: fip.id }));
  expect(fip.floatingIp).toMatch(/^192\.168\.122\.\d+$/);

  const fetchFromHost = () =>
    new Promise<string | null>((resolve) => {
      const s = connect(8080, fip.floatingIp);
      let b = '';
      s.on('data', (d: Buffer) => (b += d.toString()));
      s.on('end', () => resolve(b));
      s.on('error', () => resolve(null));
      s.setTimeout(800, () => (s.destroy(), resolve(b || null)));
    });
  await within(async () => (await fetchFromHost()) === 'hello from box\n', true, 30_000, 'the host reaches box at its floating IP');
  const ssh = await run('ssh', ['-i', join(dir, 'key'), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=10', `root@${fip.floatingIp}`, 'hostname'], { timeout: 60_000 });
  expect(ssh.stdout.trim()).toBe('box');
  // The server shows it, as Nova does, among its addresses.
  expect((await erin.servers.get.query({ id: box.id })).addresses.dmz).toContainEqual(expect.objectContaining({ ip: fip.floatingIp, type: 'floating' }));

  await erin.floatingIps.update.mutate({ id: fip.id, portId: null });
  await within(async () => (await fetchFromHost()) !== null, false, 10_000, 'released: the floating IP no longer leads to box');
});

test('port security: a port that forges its address gets nothing through; metadata answers only the guest it belongs to', async () => {
  const finn = await tenant('net-finn');
  const { network } = await routedNetwork(finn, 'priv', '10.5.0.0/24');
  const guest = await launch(finn, 'meta', network.id);
  // The guest read its own metadata on this project network (not the config drive).
  await consoleShows(finn, guest.id, /metadata source=network/);
  const ip = addressOf(guest, 'priv')!;
  const probe = await Probe.plug(finn, { networkId: network.id, name: 'probe-priv' });
  cleanups.push(() => probe.remove());
  await within(async () => (await probe.tcp(ip, 8080, 500)) === 'hello from meta\n', true, 30_000, 'the probe reaches the guest');
  // The probe is a port but not an instance's: the metadata service answers nothing for it.
  const asked = await probe.exec([process.execPath, '-e', `fetch('http://169.254.169.254/openstack/latest/meta_data.json').then(r=>r.text().then(t=>console.log(r.status,t)),e=>console.log('error',e.message))`], 15_000);
  expect(asked.out).not.toContain(guest.id);
  // Posing as the guest (its address) gets no traffic through: the gateway answered the probe before, not after.
  expect(await probe.ping(network.subnets[0]!.gateway!)).toBe(true);
  await probe.changeAddress(ip, 24);
  const forged = await probe.exec([process.execPath, '-e', `fetch('http://169.254.169.254/openstack/latest/meta_data.json',{signal:AbortSignal.timeout(3000)}).then(r=>r.text().then(t=>console.log(r.status,t)),e=>console.log('error',e.message))`], 15_000);
  expect(forged.out).not.toContain(guest.id);
  expect(await probe.ping(network.subnets[0]!.gateway!)).toBe(false);
  // Its own address back, it is let through again; with another MAC, it is not.
  await probe.changeAddress(probe.ip, 24);
  await within(() => probe.ping(network.subnets[0]!.gateway!), true, 10_000, 'the probe at its own address again');
  await probe.changeMac('fa:16:3e:00:00:01');
  expect(await probe.ping(network.subnets[0]!.gateway!)).toBe(false);
});
