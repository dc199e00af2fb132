import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createLogger } from '@aster/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetadataNamespaces, namespaceNames } from '../src/metadata-namespaces.ts';
import { MetadataProxy } from '../src/metadata-proxy.ts';

/**
 * The metadata path of a project network for real: Open vSwitch with a netdev bridge of the test's own
 * (acting as a plain switch, since no OVN programs it here), real namespaces and veths, the forwarder
 * process, and the agent's proxy on its unix socket. A "guest" is a namespace with its own port in the bridge.
 * The Open vSwitch is a private one (its own ovsdb-server and ovs-vswitchd in a temporary folder) unless the
 * host's own runs: two userspace datapaths cannot share one network namespace (both want the `ovs-netdev`
 * device), so then the test's bridge is added to the host's and removed afterwards.
 */
const exec = promisify(execFile);
const FORWARDER = fileURLToPath(new URL('../src/metadata-forwarder.mjs', import.meta.url));
const silent = createLogger('metadata-namespaces-test', { write: () => {} });

const canRun = (() => {
  try {
    if (process.getuid?.() !== 0) return false;
    for (const tool of [['ip', 'netns', 'list'], ['ovs-vsctl', '--version'], ['ovsdb-server', '--version'], ['ovs-vswitchd', '--version'], ['curl', '--version']]) {
      execFileSync(tool[0]!, tool.slice(1), { stdio: 'ignore' });
    }
    return true;
  } catch {
    return false;
  }
})();

const tag = randomBytes(3).toString('hex');
const bridge = `bt${tag}`;
/** Namespaces of other owners on this machine (a running cloud's) are not the test's to remove. */
const owner = `test-${tag}`;
let dir = '';
let db = '';
let ovsNetdevBefore = true;
let privateOvs = false;
const vsctl = (...args: string[]) => exec('ovs-vsctl', [`--db=${db}`, '--timeout=10', ...args]).then((r) => r.stdout.trim());
const ip = (...args: string[]) => exec('ip', args).then((r) => r.stdout);

/** What reached the metadata listener: the signed instance id the proxy added, and everything else. */
let upstream: Server;
const seenUpstream: IncomingHttpHeaders[] = [];
const lookups: [string, string | null][] = [];
let proxy: MetadataProxy;

const linkExists = (name: string) => ip('link', 'show', 'dev', name).then(() => true, () => false);

beforeAll(async () => {
  if (!canRun) return;
  dir = await mkdtemp(join(tmpdir(), 'aster-ovs-'));
  ovsNetdevBefore = await linkExists('ovs-netdev');
  const hostOvs = await exec('ovs-vsctl', ['--timeout=3', 'get', 'open', '.', 'ovs_version']).then(() => true, () => false);
  if (hostOvs) db = 'unix:/var/run/openvswitch/db.sock';
  else await startPrivateOvs();
  // No OVN here to program it: the bridge switches on its own (standalone).
  await vsctl('add-br', bridge, '--', 'set', 'bridge', bridge, 'datapath_type=netdev', 'fail-mode=standalone');

  upstream = createServer((req, res) => {
    seenUpstream.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ uuid: req.headers['x-instance-id'], path: req.url }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
}, 60_000);

async function startPrivateOvs() {
  privateOvs = true;
  db = `unix:${join(dir, 'db.sock')}`;
  await exec('ovsdb-tool', ['create', join(dir, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema']);
  await exec('ovsdb-server', [join(dir, 'conf.db'), `--remote=punix:${join(dir, 'db.sock')}`, `--pidfile=${join(dir, 'ovsdb.pid')}`, `--unixctl=${join(dir, 'ovsdb.ctl')}`, `--log-file=${join(dir, 'ovsdb.log')}`, '--detach']);
  await vsctl('--no-wait', 'init');
  // TCP through the userspace datapath has bad checksums without it (see the host's facts).
  await vsctl('--no-wait', 'set', 'open', '.', 'other_config:userspace-tso-enable=true');
  await exec('ovs-vswitchd', [db, `--pidfile=${join(dir, 'vswitchd.pid')}`, `--unixctl=${join(dir, 'vswitchd.ctl')}`, `--log-file=${join(dir, 'vswitchd.log')}`, '--detach']);
}

afterAll(async () => {
  if (!canRun) return;
  await proxy?.stop();
  await new Promise((resolve) => upstream?.close(resolve));
  await vsctl('--if-exists', 'del-br', bridge).catch(() => {});
  if (privateOvs) {
    await exec('ovs-appctl', ['-t', join(dir, 'vswitchd.ctl'), 'exit', '--cleanup']).catch(() => {});
    await exec('ovs-appctl', ['-t', join(dir, 'ovsdb.ctl'), 'exit']).catch(() => {});
    // The userspace datapath's own device, unless another Open vSwitch had it before this test.
    if (!ovsNetdevBefore) await ip('link', 'del', 'ovs-netdev').catch(() => {});
  }
  await ip('link', 'del', bridge).catch(() => {});
  await rm(dir, { recursive: true, force: true });
}, 60_000);

/** A guest: a namespace whose veth is a port of the bridge, with an address on the network and OVN DHCP's route to 169.254.169.254. */
async function guest(address: string, prefix: number, metadataIp: string) {
  const name = `astg-${randomBytes(3).toString('hex')}`;
  const hostDev = `ag${randomBytes(4).toString('hex')}`;
  await ip('netns', 'add', name);
  await ip('link', 'add', hostDev, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name);
  await ip('link', 'set', hostDev, 'up');
  await vsctl('add-port', bridge, hostDev);
  await ip('-n', name, 'addr', 'add', `${address}/${prefix}`, 'dev', 'eth0');
  await ip('-n', name, 'link', 'set', 'eth0', 'up');
  await ip('-n', name, 'link', 'set', 'lo', 'up');
  await ip('-n', name, 'route', 'add', '169.254.169.254/32', 'via', metadataIp);
  return {
    /** curl inside the guest: the body, or throws. */
    get: async (path: string, headers: Record<string, string> = {}) => {
      const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
      const { stdout } = await exec('ip', ['netns', 'exec', name, 'curl', '-sS', '-f', '-m', '10', ...h, `http://169.254.169.254${path}`]);
      return stdout;
    },
    async remove() {
      await vsctl('--if-exists', 'del-port', bridge, hostDev).catch(() => {});
      await ip('netns', 'del', name).catch(() => {});
      await ip('link', 'del', hostDev).catch(() => {});
    },
  };
}

/** Everything of a network's path that could be left behind. */
async function leftovers(networkId: string): Promise<string[]> {
  const { namespace, hostDev } = namespaceNames(networkId);
  const left: string[] = [];
  if ((await ip('netns', 'list')).includes(namespace)) left.push(`namespace ${namespace}`);
  if (await linkExists(hostDev)) left.push(`link ${hostDev}`);
  if ((await vsctl('list-ports', bridge)).split('\n').includes(hostDev)) left.push(`port ${hostDev}`);
  const { stdout } = await exec('pgrep', ['-f', `metadata-forwarder.mjs .* ${networkId}`]).catch(() => ({ stdout: '' }));
  if (stdout.trim()) left.push(`forwarder ${stdout.trim()}`);
  return left;
}

describe.skipIf(!canRun)('metadata namespaces (real namespaces, veths and Open vSwitch)', () => {
  it('brings a guest’s request to the proxy with its network and its own address, believes no header it sends, and leaves nothing when the last guest goes', async () => {
    const socketPath = join(dir, 'metadata.sock');
    const networkId = randomUUID();
    const net = `10.${randomInt(100, 200)}.${randomInt(0, 256)}`;
    const metadata = { portId: randomUUID(), mac: 'fa:16:3e:00:aa:01', ip: `${net}.2`, prefixLength: 24 };
    const [instanceA, instanceB, projectId] = [randomUUID(), randomUUID(), randomUUID()];
    const owners = new Map([
      [`${networkId} ${net}.5`, instanceA],
      [`${networkId} ${net}.6`, instanceB],
    ]);
    proxy = new MetadataProxy({
      listenHost: '127.0.0.1',
      listenPort: 0,
      metadataUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      secret: 'namespace-test-secret',
      socketPath,
      lookup: (address, network) => {
        lookups.push([address, network]);
        const instanceId = owners.get(`${network} ${address}`);
        return instanceId ? { instanceId, projectId } : null;
      },
      log: silent,
    });
    await proxy.start();
    const namespaces = new MetadataNamespaces({ bridge, socketPath, ovsDb: db, owner, log: silent });
    const a = await guest(`${net}.5`, 24, metadata.ip);
    const b = await guest(`${net}.6`, 24, metadata.ip);
    try {
      await namespaces.plug(instanceA, [{ networkId, metadata }]);
      await namespaces.plug(instanceB, [{ networkId, metadata }]);
      const { namespace, hostDev } = namespaceNames(networkId);
      expect(hostDev.length).toBeLessThanOrEqual(15);
      // The metadata port's veth is in the bridge as the port OVN binds, and has the port's MAC and both addresses.
      expect(await vsctl('get', 'Interface', hostDev, 'external_ids:iface-id')).toBe(`"${metadata.portId}"`);
      const inside = await ip('-n', namespace, 'addr', 'show');
      expect(inside).toContain(metadata.mac);
      expect(inside).toContain(`${metadata.ip}/24`);
      expect(inside).toContain('169.254.169.254/32');

      expect(JSON.parse(await a.get('/openstack/latest/meta_data.json'))).toEqual({ uuid: instanceA, path: '/openstack/latest/meta_data.json' });
      expect(lookups.at(-1)).toEqual([`${net}.5`, networkId]);
      expect(JSON.parse(await b.get('/latest/meta-data/'))).toMatchObject({ uuid: instanceB });
      expect(lookups.at(-1)).toEqual([`${net}.6`, networkId]);

      // Guest A claims to be guest B, on another network: the forwarder drops its headers, the proxy believes none.
      const forged = await a.get('/openstack/latest/meta_data.json', {
        'X-Aster-Source-Address': `${net}.6`,
        'X-Aster-Network-Id': randomUUID(),
        'X-Instance-ID': instanceB,
        'X-Forwarded-For': `${net}.6`,
      });
      expect(JSON.parse(forged)).toMatchObject({ uuid: instanceA });
      expect(lookups.at(-1)).toEqual([`${net}.5`, networkId]);
      expect(seenUpstream.at(-1)).toMatchObject({ 'x-instance-id': instanceA, 'x-forwarded-for': `${net}.5` });

      // One guest leaves: the path stays for the other; the last one leaving takes it all.
      await namespaces.unplug(instanceA);
      expect(JSON.parse(await b.get('/'))).toMatchObject({ uuid: instanceB });
      await namespaces.unplug(instanceB);
      expect(await leftovers(networkId)).toEqual([]);
      await expect(b.get('/')).rejects.toThrow();
    } finally {
      await namespaces.unplug(instanceA).catch(() => {});
      await namespaces.unplug(instanceB).catch(() => {});
      await namespaces.stop();
      await a.remove();
      await b.remove();
      await proxy.stop();
    }
  }, 120_000);

  it('at start, takes over the path of a network its guests are on (an earlier agent’s forwarder replaced) and removes the others', async () => {
    const socketPath = join(dir, 'metadata-adopt.sock');
    const [kept, stale] = [randomUUID(), randomUUID()];
    const net = `10.${randomInt(200, 250)}.${randomInt(0, 256)}`;
    const metadata = { portId: randomUUID(), mac: 'fa:16:3e:00:bb:01', ip: `${net}.2`, prefixLength: 24 };
    const staleMetadata = { portId: randomUUID(), mac: 'fa:16:3e:00:bb:02', ip: '10.251.0.2', prefixLength: 24 };
    const instanceId = randomUUID();
    proxy = new MetadataProxy({
      listenHost: '127.0.0.1',
      listenPort: 0,
      metadataUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      secret: 'namespace-test-secret',
      socketPath,
      lookup: (address, network) => (network === kept && address === `${net}.5` ? { instanceId, projectId: randomUUID() } : null),
      log: silent,
    });
    await proxy.start();
    // An earlier agent stopped (namespaces stay for the guests), and a forwarder of its still runs in one of them.
    const earlier = new MetadataNamespaces({ bridge, socketPath, ovsDb: db, owner, log: silent });
    await earlier.plug(randomUUID(), [{ networkId: kept, metadata }]);
    await earlier.plug(randomUUID(), [{ networkId: stale, metadata: staleMetadata }]);
    await earlier.stop();
    // Another agent's on the same machine: not this one's to remove.
    const foreign = randomUUID();
    const other = new MetadataNamespaces({ bridge, socketPath, ovsDb: db, owner: `other-${tag}`, log: silent });
    const otherInstance = randomUUID();
    await other.plug(otherInstance, [{ networkId: foreign, metadata: { ...staleMetadata, portId: randomUUID(), mac: 'fa:16:3e:00:bb:03' } }]);
    const stray = spawn('ip', ['netns', 'exec', namespaceNames(kept).namespace, process.execPath, FORWARDER, socketPath, kept], { stdio: ['pipe', 'pipe', 'ignore'] });
    await new Promise((resolve) => stray.stdout.once('data', resolve));
    const strayGone = new Promise((resolve) => stray.once('exit', resolve));
    const g = await guest(`${net}.5`, 24, metadata.ip);
    const later = new MetadataNamespaces({ bridge, socketPath, ovsDb: db, owner, log: silent });
    try {
      await later.adopt([{ instanceId, ports: [{ networkId: kept, metadata }] }]);
      expect(await leftovers(stale)).toEqual([]);
      expect([...later.active().keys()]).toEqual([kept]);
      expect((await ip('netns', 'list')).includes(namespaceNames(foreign).namespace)).toBe(true);
      await strayGone; // the earlier forwarder was ended, and a new one answers
      const { stdout } = await exec('pgrep', ['-f', `metadata-forwarder.mjs .* ${kept}`]);
      expect(stdout.trim().split('\n')).toHaveLength(1);
      expect(JSON.parse(await g.get('/'))).toMatchObject({ uuid: instanceId });
      await later.unplug(instanceId);
      expect(await leftovers(kept)).toEqual([]);
      await other.unplug(otherInstance);
      expect(await leftovers(foreign)).toEqual([]);
    } finally {
      stray.kill();
      await later.unplug(instanceId).catch(() => {});
      await other.unplug(otherInstance).catch(() => {});
      await other.stop();
      await later.stop();
      await g.remove();
      await proxy.stop();
    }
  }, 120_000);
});
