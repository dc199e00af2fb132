import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OVN_NB_DB, OVN_SB_DB, UNDERLAY, prepareNetworking } from '../src/ovn.ts';
import { startSecondChassis, type SecondChassis } from '../src/second-chassis.ts';
import { makeNamespace, pingable, sendFullChecksums, sh, tcpBytes, type Namespace } from './netns.ts';

const chassis = hostname();
const nbctl = (...args: string[]) => sh('ovn-nbctl', `--db=${OVN_NB_DB}`, '--timeout=20', ...args);
const sbctl = (...args: string[]) => sh('ovn-sbctl', `--db=${OVN_SB_DB}`, '--timeout=20', ...args);

/** The Geneve interfaces of an `ovs-vsctl show`, as `name remote_ip`. */
function geneveTunnels(show: string): string[] {
  return [...show.matchAll(/Interface (\S+)\n\s+type: geneve\n\s+options: \{[^}]*remote_ip="([^"]+)"/g)].map((m) => `${m[1]} ${m[2]}`);
}

// A logical switch spanning the machine's chassis and a second one, over Geneve: root only (the machine's daemons).
describe.runIf(process.getuid?.() === 0)('two chassis on this machine', () => {
  const id = randomBytes(4).toString('hex');
  const cloud = `test-${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'aster-chassis-'));
  const spaces: Namespace[] = [];
  let second: SecondChassis | null = null;

  afterAll(async () => {
    for (const ns of spaces) {
      spawnSync('ovs-vsctl', ['--timeout=20', '--if-exists', 'del-port', 'br-int', ns.outside]);
      ns.remove();
    }
    await second?.stop();
    for (const table of ['Logical_Switch_Port', 'Logical_Switch']) {
      for (const uuid of sh('ovn-nbctl', `--db=${OVN_NB_DB}`, '--bare', '--columns=_uuid', 'find', table, `external_ids:aster-cloud=${cloud}`).split('\n').filter(Boolean)) {
        spawnSync('ovn-nbctl', [`--db=${OVN_NB_DB}`, '--if-exists', table === 'Logical_Switch' ? 'ls-del' : 'lsp-del', uuid]);
      }
    }
    // Nothing of it is left: no switch, no chassis, no underlay port, no namespace, no daemon.
    expect(sh('ovn-nbctl', `--db=${OVN_NB_DB}`, '--bare', '--columns=name', 'find', 'Logical_Switch', `external_ids:aster-cloud=${cloud}`).trim()).toBe('');
    if (second) {
      expect(sbctl('--bare', '--columns=name', 'list', 'Chassis').split('\n')).not.toContain(second.name);
      expect(sh('ovs-vsctl', 'list-ports', UNDERLAY.bridge).split('\n')).not.toContain(second.underlayPort);
      expect(spawnSync('ip', ['netns', 'pids', second.netns]).status).not.toBe(0);
      expect(geneveTunnels(sh('ovs-vsctl', 'show')).filter((t) => t.endsWith(` ${second!.encapIp}`))).toEqual([]);
    }
    expect(spawnSync('pgrep', ['-f', dir]).status).toBe(1);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('carries ping and TCP between ports of one logical switch on two chassis, through a Geneve tunnel', async () => {
    // The machine's chassis as the launcher makes it (idempotent: it is running already in any test run).
    await prepareNetworking(() => {}, { chassis });
    expect(sh('ovs-vsctl', 'get', 'Open_vSwitch', '.', 'external_ids:ovn-encap-ip').trim()).toBe(`"${UNDERLAY.hostAddress}"`);
    expect(sh('ip', '-br', 'addr', 'show', UNDERLAY.bridge)).toContain(`${UNDERLAY.hostAddress}/${UNDERLAY.prefixLength}`);
    // The userspace datapath routes the machine's tunnels out of br-phy.
    expect(sh('ovs-appctl', 'ovs/route/show')).toMatch(new RegExp(`${UNDERLAY.prefix}\\.0/${UNDERLAY.prefixLength} dev ${UNDERLAY.bridge} SRC ${UNDERLAY.hostAddress.replace(/\./g, '\\.')}`));

    second = await startSecondChassis({ dir, name: `c2${id}` });
    const c2 = second;
    const encaps = sbctl('--bare', '--columns=chassis_name,type,ip', 'list', 'Encap');
    expect(encaps).toContain(`${chassis}\ngeneve\n${UNDERLAY.hostAddress}`);
    expect(encaps).toContain(`${c2.name}\ngeneve\n${c2.encapIp}`);
    // Its bridges are devices in its namespace (a second userspace vswitchd beside the machine's makes none).
    expect(sh('ip', '-n', c2.netns, '-br', 'link', 'show', c2.bridge)).toContain(c2.bridge);
    expect(sh('ip', '-n', c2.netns, '-br', 'addr', 'show', UNDERLAY.bridge)).toContain(c2.encapIp);
    expect(await c2.vswitchdCtl('ovs/route/lookup', UNDERLAY.hostAddress)).toContain(`dev ${UNDERLAY.bridge}`);

    const ls = `aster-${cloud}`;
    const a = makeNamespace(`${id}a`, '10.205.0.11');
    const b = makeNamespace(`${id}b`, '10.205.0.12');
    spaces.push(a, b);
    nbctl('ls-add', ls, '--', 'set', 'Logical_Switch', ls, `external_ids:aster-cloud=${cloud}`);
    for (const [lsp, ns] of [[`${cloud}-a`, a], [`${cloud}-b`, b]] as const) {
      nbctl('lsp-add', ls, lsp, '--', 'lsp-set-addresses', lsp, `${ns.mac} ${ns.ip}`, '--', 'set', 'Logical_Switch_Port', lsp, `external_ids:aster-cloud=${cloud}`);
    }
    sh('ovs-vsctl', '--timeout=20', 'add-port', 'br-int', a.outside, '--', 'set', 'Interface', a.outside, `external_ids:iface-id=${cloud}-a`);
    await c2.plug(b.outside, `${cloud}-b`);
    for (const lsp of [`${cloud}-a`, `${cloud}-b`]) nbctl('--timeout=30', 'wait-until', 'Logical_Switch_Port', lsp, 'up=true');
    // Each port is bound on its own chassis.
    const boundOn = (lsp: string) => {
      const uuid = sbctl('--bare', '--columns=chassis', 'find', 'Port_Binding', `logical_port=${lsp}`).trim();
      return sbctl('--bare', '--columns=name', 'list', 'Chassis', uuid).trim();
    };
    expect(boundOn(`${cloud}-a`)).toBe(chassis);
    expect(boundOn(`${cloud}-b`)).toBe(c2.name);
    // ovn-controller made a Geneve port to the other chassis on each side.
    expect(geneveTunnels(sh('ovs-vsctl', 'show')).map((t) => t.split(' ')[1])).toContain(c2.encapIp);
    expect(geneveTunnels(await c2.ovsVsctl('show')).map((t) => t.split(' ')[1])).toContain(UNDERLAY.hostAddress);

    expect(await pingable(a, b.ip)).toBe(true);
    expect(await pingable(b, a.ip)).toBe(true);
    // The datapath flows that carried them (within their 10 s idle time): pushed into Geneve toward the other
    // chassis's endpoint, and popped out of it, on both sides.
    expect(a.exec('ping', '-c', '3', '-i', '0.2', '-W', '1', b.ip).status).toBe(0);
    const machineFlows = sh('ovs-appctl', 'dpctl/dump-flows').split('\n');
    const secondFlows = (await c2.vswitchdCtl('dpctl/dump-flows')).split('\n');
    const pushTo = (ip: string) => (f: string) => f.includes('tnl_push(') && f.includes(`dst=${ip},proto=17`) && f.includes('dst=6081');
    const popAt = (ip: string) => (f: string) => f.includes(`ipv4(dst=${ip},proto=17`) && f.includes('udp(dst=6081)') && /actions:tnl_pop\(/.test(f);
    expect(machineFlows.some(pushTo(c2.encapIp)), machineFlows.join('\n')).toBe(true);
    expect(machineFlows.some(popAt(UNDERLAY.hostAddress)), machineFlows.join('\n')).toBe(true);
    expect(secondFlows.some(pushTo(UNDERLAY.hostAddress)), secondFlows.join('\n')).toBe(true);
    expect(secondFlows.some(popAt(c2.encapIp)), secondFlows.join('\n')).toBe(true);

    // TCP both ways, four MiB in large writes. The senders checksum their segments themselves: OVS 3.1's
    // userspace datapath cannot put segments with offload flags into a tunnel.
    sendFullChecksums(a);
    sendFullChecksums(b);
    expect(await tcpBytes(b, a, 4 << 20)).toBe(4 << 20);
    expect(await tcpBytes(a, b, 4 << 20)).toBe(4 << 20);
  }, 180_000);
});
