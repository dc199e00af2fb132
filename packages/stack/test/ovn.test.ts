import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareHypervisor } from '../src/hypervisor.ts';
import { EX_VETH, OVN_NB_DB, OVN_SB_DB, UNDERLAY, prepareNetworking } from '../src/ovn.ts';
import { startSecondChassis } from '../src/second-chassis.ts';
import { makeNamespace, pingable, sh, tcpBytes, type Namespace } from './netns.ts';

const chassis = hostname();
const nbctl = (...args: string[]) => sh('ovn-nbctl', `--db=${OVN_NB_DB}`, '--timeout=20', ...args);
const running = (pidFile: string) => spawnSync('sh', ['-c', `kill -0 "$(cat ${pidFile})"`]).status === 0;
const daemons = {
  'ovsdb-server': '/var/run/openvswitch/ovsdb-server.pid',
  'ovs-vswitchd': '/var/run/openvswitch/ovs-vswitchd.pid',
  'ovn-northd': '/var/run/ovn/ovn-northd.pid',
  'ovn-nb': '/var/run/ovn/ovnnb_db.pid',
  'ovn-sb': '/var/run/ovn/ovnsb_db.pid',
  'ovn-controller': '/var/run/ovn/ovn-controller.pid',
};

// The machine-wide daemons, as the launcher runs them: root only.
describe.runIf(process.getuid?.() === 0)('prepareNetworking on this machine', () => {
  const cloud = `test-${randomBytes(4).toString('hex')}`;
  const spaces: Namespace[] = [];
  afterAll(() => {
    for (const ns of spaces) {
      spawnSync('ovs-vsctl', ['--timeout=20', '--if-exists', 'del-port', 'br-int', ns.outside]);
      ns.remove();
    }
    // Everything this test put in NB carries its tag.
    for (const row of sh('ovn-nbctl', `--db=${OVN_NB_DB}`, '--bare', '--columns=name', 'find', 'Logical_Switch', `external_ids:aster-cloud=${cloud}`).split('\n').filter(Boolean)) {
      spawnSync('ovn-nbctl', [`--db=${OVN_NB_DB}`, 'ls-del', row]);
    }
  });

  it('sets up Open vSwitch and OVN as a compute host needs them, and is quick once everything runs', async () => {
    // Other tests of this run use the machine's Open vSwitch and the external bridge at the same time, so nothing
    // is stopped or removed here: a fresh machine's first start (every npm test and npm start begins with it) is
    // the start from nothing.
    await prepareHypervisor(() => {});
    const said: string[] = [];
    const first = await prepareNetworking((l) => said.push(l), { chassis });
    expect(first).toEqual({ datapath: 'netdev', nbDb: 'unix:/var/run/ovn/ovnnb_db.sock', sbDb: 'unix:/var/run/ovn/ovnsb_db.sock', chassis });
    for (const [name, pid] of Object.entries(daemons)) expect(running(pid), name).toBe(true);

    expect(sh('ovs-vsctl', 'get', 'Bridge', 'br-int', 'datapath_type', 'fail_mode', 'other_config:disable-in-band').split('\n').slice(0, 3)).toEqual(['netdev', 'secure', '"true"']);
    expect(sh('ovs-vsctl', 'get', 'Bridge', 'br-ex', 'datapath_type').trim()).toBe('netdev');
    expect(sh('ovs-vsctl', 'get', 'Open_vSwitch', '.', 'other_config:userspace-tso-enable').trim()).toBe('"true"');
    const ids = sh('ovs-vsctl', 'get', 'Open_vSwitch', '.', 'external_ids');
    for (const kv of [`system-id=${chassis}`, 'ovn-encap-type=geneve', `ovn-encap-ip="${UNDERLAY.hostAddress}"`, 'ovn-bridge=br-int', 'ovn-bridge-datapath-type=netdev', 'ovn-bridge-mappings="public:br-ex"']) {
      expect(ids).toContain(kv);
    }
    expect(ids).toContain(`ovn-remote="${OVN_SB_DB}"`);
    expect(sh('ovs-vsctl', 'port-to-br', EX_VETH.ovs).trim()).toBe('br-ex');
    // The Geneve endpoint: an address on br-phy, where the userspace datapath routes tunnels from.
    expect(sh('ovs-vsctl', 'get', 'Bridge', UNDERLAY.bridge, 'datapath_type').trim()).toBe('netdev');
    expect(sh('ip', '-br', 'addr', 'show', UNDERLAY.bridge)).toContain(`${UNDERLAY.hostAddress}/${UNDERLAY.prefixLength}`);
    expect(existsSync(`/sys/class/net/${EX_VETH.libvirt}/master`)).toBe(true);
    expect(sh('readlink', `/sys/class/net/${EX_VETH.libvirt}/master`).trim()).toMatch(/\/virbr0$/);
    expect(sh('ovn-sbctl', `--db=${OVN_SB_DB}`, '--bare', '--columns=name', 'find', 'Chassis', `name=${chassis}`).trim()).toBe(chassis);

    // Again, with everything running: nothing started, nothing restarted.
    const pids = Object.values(daemons).map((p) => sh('cat', p).trim());
    const again: string[] = [];
    const began = Date.now();
    expect(await prepareNetworking((l) => again.push(l), { chassis })).toEqual(first);
    expect(Date.now() - began).toBeLessThan(3000);
    expect(again).toEqual([]);
    expect(Object.values(daemons).map((p) => sh('cat', p).trim())).toEqual(pids);
  }, 180_000);

  it('forwards between two ports of one logical switch: ping, and TCP through userspace TSO', async () => {
    const ls = `aster-${cloud}`;
    const a = makeNamespace(`${cloud.slice(5)}a`, '10.203.0.11');
    const b = makeNamespace(`${cloud.slice(5)}b`, '10.203.0.12');
    spaces.push(a, b);
    nbctl('ls-add', ls, '--', 'set', 'Logical_Switch', ls, `external_ids:aster-cloud=${cloud}`);
    for (const [lsp, ns] of [[`${cloud}-a`, a], [`${cloud}-b`, b]] as const) {
      nbctl('lsp-add', ls, lsp, '--', 'lsp-set-addresses', lsp, `${ns.mac} ${ns.ip}`);
      sh('ovs-vsctl', '--timeout=20', 'add-port', 'br-int', ns.outside, '--', 'set', 'Interface', ns.outside, `external_ids:iface-id=${lsp}`);
    }
    for (const lsp of [`${cloud}-a`, `${cloud}-b`]) nbctl('--timeout=30', 'wait-until', 'Logical_Switch_Port', lsp, 'up=true');
    expect(await pingable(a, b.ip)).toBe(true);
    expect(await pingable(b, a.ip)).toBe(true);
    // Four MiB in large writes: without userspace TSO the segments arrive with bad checksums and TCP stalls.
    expect(await tcpBytes(b, a, 4 << 20)).toBe(4 << 20);
  }, 120_000);

  // In this file, not its own: the first test stops the machine's daemons, and files run in parallel.
  it('runs a second chassis beside the machine one, on its own databases and bridge, and stops it without a trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aster-chassis-'));
    const chassisNames = () => sh('ovn-sbctl', `--db=${OVN_SB_DB}`, '--bare', '--columns=name', 'list', 'Chassis').split('\n').filter(Boolean);
    const name = `c2-${randomBytes(3).toString('hex')}`;
    const second = await startSecondChassis({ dir, name });
    try {
      expect(chassisNames()).toEqual(expect.arrayContaining([chassis, name]));
      expect((await second.ovsVsctl('get', 'Open_vSwitch', '.', 'external_ids:system-id')).trim()).toBe(name);
      expect((await second.ovsVsctl('get', 'Bridge', second.bridge, 'datapath_type')).trim()).toBe('netdev');
      // Its own database: the machine's bridges are not in it, nor its bridge in the machine's.
      expect((await second.ovsVsctl('list-br')).trim().split('\n').sort()).toEqual([UNDERLAY.bridge, second.bridge].sort());
      expect(sh('ovs-vsctl', 'list-br')).not.toContain(second.bridge);
      // Its vswitchd made its bridges' devices, in its own namespace, and joined the machine's underlay.
      expect(sh('ip', '-n', second.netns, '-br', 'link', 'show', second.bridge)).toContain(second.bridge);
      expect(sh('ovs-vsctl', 'port-to-br', second.underlayPort).trim()).toBe(UNDERLAY.bridge);
    } finally {
      await second.stop();
    }
    expect(chassisNames()).not.toContain(name);
    expect(spawnSync('ip', ['netns', 'pids', second.netns]).status).not.toBe(0);
    expect(spawnSync('ip', ['link', 'show', second.underlayPort]).status).not.toBe(0);
    expect(sh('ovs-vsctl', 'list-ports', UNDERLAY.bridge).split('\n')).not.toContain(second.underlayPort);
    expect(spawnSync('pgrep', ['-f', dir]).status).toBe(1);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
