import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { inheritedEnv } from './env.ts';
import { pidAlive } from './daemons.ts';
import { DEFAULT_NETWORK_XML } from '@aster/virt/libvirt';

/**
 * Open vSwitch and OVN on this machine, the way a compute host and a network controller need them: the
 * machine-wide daemons (ovsdb-server, ovs-vswitchd, the OVN databases, ovn-northd, ovn-controller) started
 * where nothing started them (machines without systemd), `br-int` for guests and `br-ex`, OVN's `public`
 * physical network, joined by a veth pair to the libvirt NAT bridge. Like libvirtd, they keep running after
 * Aster stops.
 */

export interface Networking {
  /** `system` where the kernel has the openvswitch module, else the userspace datapath `netdev`. */
  datapath: 'system' | 'netdev';
  /** OVN's northbound and southbound databases (OVSDB remotes). */
  nbDb: string;
  sbDb: string;
  /** This host's chassis name in the southbound database (Open_vSwitch external_ids:system-id). */
  chassis: string;
}

export interface NetworkingOptions {
  /** The compute host name, which is the chassis name. */
  chassis: string;
  /** The libvirt network whose bridge br-ex joins (`default`, libvirt's NAT network on virbr0). */
  libvirtNetwork?: string;
  /** How long ovn-controller has to register the chassis. */
  timeoutMs?: number;
}

export const OVN_NB_DB = 'unix:/var/run/ovn/ovnnb_db.sock';
export const OVN_SB_DB = 'unix:/var/run/ovn/ovnsb_db.sock';
const OVS_CTL = '/usr/share/openvswitch/scripts/ovs-ctl';
const OVN_CTL = '/usr/share/ovn/scripts/ovn-ctl';
const OVS_LOG = '/var/log/openvswitch';
const OVN_LOG = '/var/log/ovn';
/**
 * The Geneve underlay. The userspace datapath sends and receives tunnel packets itself, not through the
 * kernel's sockets: it routes a tunnel only out of an OVS bridge that holds the source address (its own
 * route table, `ovs-appctl ovs/route/show`, learned from the kernel's routes) and pops only packets that
 * arrive on a bridge port for such an address. So a chassis's tunnel endpoint (`ovn-encap-ip`) is an
 * address on `br-phy`, and other chassis reach it through ports of that bridge (on this machine, the second
 * chassis of tests joins it by a veth pair). The MTU leaves room for Geneve's 58 bytes around a 1500-byte
 * frame (a larger packet is refused by the underlay port: "Message too long").
 */
export const UNDERLAY = { bridge: 'br-phy', prefix: '172.31.255', hostAddress: '172.31.255.1', prefixLength: 24, mtu: 9000 } as const;
/** The veth pair between br-ex (OVS) and the libvirt bridge. */
export const EX_VETH = { ovs: 'aster-brex', libvirt: 'aster-virbr' } as const;
/**
 * ovn-controller and northd wake up for their probes of the databases and of ovs-vswitchd; everything here
 * is on one machine over unix sockets, so probing rarely costs nothing and keeps two cores quiet.
 */
const PROBE_MS = '60000';


interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command (without a shell); never throws: the caller decides what a failure means. */
export function run(command: string, args: string[], input?: string, timeoutMs = 60_000, env?: Record<string, string>): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], timeout: timeoutMs, env: { ...inheritedEnv(), ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', (error) => resolve({ code: 127, stdout, stderr: `cannot run ${command}: ${error.message}` }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    if (input !== undefined) {
      child.stdin!.on('error', () => {}); // a command that exits without reading its input
      child.stdin!.end(input);
    }
  });
}

async function must(what: string, command: string, args: string[], input?: string): Promise<string> {
  const r = await run(command, args, input);
  if (r.code !== 0) throw new Error(`${what}: ${command} ${args.join(' ')} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}


const vsctl = (...args: string[]) => must('Open vSwitch', 'ovs-vsctl', ['--timeout=20', ...args]);
const ovsdbAnswers = async () => (await run('ovs-vsctl', ['--timeout=3', 'get', 'Open_vSwitch', '.', '_uuid'])).code === 0;
const vswitchdRunning = () => pidAlive('/var/run/openvswitch/ovs-vswitchd.pid');
const ovnDbAnswers = async (db: string, ctl: 'ovn-nbctl' | 'ovn-sbctl') => (await run(ctl, [`--db=${db}`, '--timeout=3', 'list', 'Connection'])).code === 0;

/** The datapath Open vSwitch can use here: the kernel's when its module is loaded, else the userspace one. */
export function detectDatapath(): 'system' | 'netdev' {
  return existsSync('/sys/module/openvswitch') ? 'system' : 'netdev';
}

async function startOvs(say: (line: string) => void, chassis: string): Promise<void> {
  if ((await ovsdbAnswers()) && vswitchdRunning()) return;
  say('Starting Open vSwitch (ovsdb-server, ovs-vswitchd)…');
  // No mlockall: on a small host vswitchd must not pin its whole address space.
  const r = await run(OVS_CTL, ['start', `--system-id=${chassis}`, '--no-mlockall', '--no-record-hostname'], undefined, 120_000);
  if (r.code !== 0 || !(await ovsdbAnswers()) || !vswitchdRunning()) {
    const which = (await ovsdbAnswers()) ? 'ovs-vswitchd' : 'ovsdb-server';
    throw new Error(`${which} did not start (ovs-ctl exit ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}); its log is ${OVS_LOG}/${which}.log`);
  }
}

/**
 * The userspace datapath computes no TCP checksums for segments the kernel hands over unsegmented unless
 * userspace TSO is on, and vswitchd reads that setting only at start: set it once, restart vswitchd once.
 */
async function enableUserspaceTso(say: (line: string) => void, chassis: string): Promise<void> {
  const current = await vsctl('--if-exists', 'get', 'Open_vSwitch', '.', 'other_config:userspace-tso-enable');
  if (current.trim().replace(/"/g, '') === 'true') return;
  await vsctl('set', 'Open_vSwitch', '.', 'other_config:userspace-tso-enable=true');
  say('Restarting ovs-vswitchd once, for userspace TSO…');
  const r = await run(OVS_CTL, ['restart', '--no-ovsdb-server', `--system-id=${chassis}`, '--no-mlockall', '--no-record-hostname'], undefined, 120_000);
  if (r.code !== 0 || !vswitchdRunning()) {
    throw new Error(`ovs-vswitchd did not restart with userspace TSO (ovs-ctl exit ${r.code}: ${(r.stderr || r.stdout).trim()}); its log is ${OVS_LOG}/ovs-vswitchd.log`);
  }
}

async function startOvnCentral(say: (line: string) => void): Promise<void> {
  if ((await ovnDbAnswers(OVN_NB_DB, 'ovn-nbctl')) && (await ovnDbAnswers(OVN_SB_DB, 'ovn-sbctl')) && pidAlive('/var/run/ovn/ovn-northd.pid')) return;
  say('Starting OVN (the northbound and southbound databases, ovn-northd)…');
  const r = await run(OVN_CTL, ['start_northd'], undefined, 120_000);
  const nb = await ovnDbAnswers(OVN_NB_DB, 'ovn-nbctl');
  const sb = await ovnDbAnswers(OVN_SB_DB, 'ovn-sbctl');
  const northd = pidAlive('/var/run/ovn/ovn-northd.pid');
  if (r.code !== 0 || !nb || !sb || !northd) {
    const which = !nb ? 'the OVN northbound database (ovsdb-server-nb.log)' : !sb ? 'the OVN southbound database (ovsdb-server-sb.log)' : 'ovn-northd (ovn-northd.log)';
    throw new Error(`${which} did not start (ovn-ctl exit ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}); its log is in ${OVN_LOG}`);
  }
}

/** Starts the libvirt network (defining libvirt's default one if missing) and answers its bridge. */
async function libvirtBridge(network: string): Promise<string> {
  const virsh = (...args: string[]) => run('virsh', ['-q', '-c', 'qemu:///system', ...args]);
  let xml = await virsh('net-dumpxml', network);
  if (xml.code !== 0) {
    if (network !== 'default') throw new Error(`libvirt network ${network} does not exist: ${xml.stderr.trim()}`);
    await must('libvirt', 'virsh', ['-q', '-c', 'qemu:///system', 'net-define', '/dev/stdin'], DEFAULT_NETWORK_XML);
    xml = await virsh('net-dumpxml', network);
  }
  const info = await virsh('net-info', network);
  if (/^Active:\s+no/m.test(info.stdout)) {
    const started = await virsh('net-start', network);
    if (started.code !== 0 && !/already active/i.test(started.stderr)) throw new Error(`libvirt network ${network} did not start: ${started.stderr.trim()}`);
  }
  const bridge = /<bridge\s+name='([^']+)'/.exec(xml.stdout)?.[1];
  if (!bridge) throw new Error(`libvirt network ${network} has no bridge`);
  return bridge;
}

const linkExists = (name: string) => existsSync(`/sys/class/net/${name}`);

async function joinExternal(bridge: string): Promise<void> {
  if (!linkExists(EX_VETH.ovs) || !linkExists(EX_VETH.libvirt)) {
    await run('ip', ['link', 'del', EX_VETH.ovs]);
    await must('br-ex', 'ip', ['link', 'add', EX_VETH.ovs, 'type', 'veth', 'peer', 'name', EX_VETH.libvirt]);
  }
  await must('br-ex', 'ip', ['link', 'set', EX_VETH.libvirt, 'master', bridge, 'up']);
  await must('br-ex', 'ip', ['link', 'set', EX_VETH.ovs, 'up']);
  await vsctl('--may-exist', 'add-port', 'br-ex', EX_VETH.ovs);
}

async function startController(say: (line: string) => void): Promise<void> {
  if (pidAlive('/var/run/ovn/ovn-controller.pid')) return;
  say('Starting ovn-controller…');
  const r = await run(OVN_CTL, ['start_controller'], undefined, 60_000);
  if (r.code !== 0 || !pidAlive('/var/run/ovn/ovn-controller.pid')) {
    throw new Error(`ovn-controller did not start (ovn-ctl exit ${r.code}: ${(r.stderr || r.stdout).trim()}); its log is ${OVN_LOG}/ovn-controller.log`);
  }
}

async function chassisRegistered(chassis: string): Promise<boolean> {
  const r = await run('ovn-sbctl', [`--db=${OVN_SB_DB}`, '--timeout=5', '--bare', '--columns=name', 'find', 'Chassis', `name=${chassis}`]);
  return r.code === 0 && r.stdout.trim() === chassis;
}

/**
 * Makes this machine an OVN chassis named `opts.chassis`, starting what is not running. Idempotent; when
 * everything is in place it only checks and re-applies settings (well under a second).
 */
export async function prepareNetworking(say: (line: string) => void, opts: NetworkingOptions): Promise<Networking> {
  const { chassis } = opts;
  if (process.getuid?.() !== 0) {
    if ((await ovsdbAnswers()) && (await chassisRegistered(chassis))) return { datapath: detectDatapath(), nbDb: OVN_NB_DB, sbDb: OVN_SB_DB, chassis };
    throw new Error('Open vSwitch and OVN are not running here, and starting them needs root: run Aster as root, or start openvswitch-switch, ovn-central and ovn-host yourself');
  }
  const datapath = detectDatapath();
  await startOvs(say, chassis);
  if (datapath === 'netdev') await enableUserspaceTso(say, chassis);
  await startOvnCentral(say);
  await must('ovn-northd', 'ovn-nbctl', [`--db=${OVN_NB_DB}`, '--timeout=20', 'set', 'NB_Global', '.', `options:northd_probe_interval=${PROBE_MS}`]);

  await vsctl(
    '--may-exist', 'add-br', 'br-int', '--',
    'set', 'Bridge', 'br-int', `datapath_type=${datapath}`, 'fail-mode=secure', 'other-config:disable-in-band=true', '--',
    'set', 'Open_vSwitch', '.',
    `external_ids:system-id=${chassis}`,
    `external_ids:hostname=${chassis}`,
    `external_ids:ovn-remote=${OVN_SB_DB}`,
    'external_ids:ovn-encap-type=geneve',
    `external_ids:ovn-encap-ip=${UNDERLAY.hostAddress}`,
    'external_ids:ovn-bridge=br-int',
    `external_ids:ovn-bridge-datapath-type=${datapath}`,
    'external_ids:ovn-bridge-mappings=public:br-ex',
    `external_ids:ovn-remote-probe-interval=${PROBE_MS}`,
    'external_ids:ovn-openflow-probe-interval=60',
  );
  await vsctl('--may-exist', 'add-br', 'br-ex', '--', 'set', 'Bridge', 'br-ex', `datapath_type=${datapath}`);
  await joinExternal(await libvirtBridge(opts.libvirtNetwork ?? 'default'));
  // br-phy's address goes with its device whenever vswitchd restarts (its internal ports are recreated): set on every start.
  await vsctl('--may-exist', 'add-br', UNDERLAY.bridge, '--', 'set', 'Bridge', UNDERLAY.bridge, `datapath_type=${datapath}`, '--', 'set', 'Interface', UNDERLAY.bridge, `mtu_request=${UNDERLAY.mtu}`);
  await must(UNDERLAY.bridge, 'ip', ['addr', 'replace', `${UNDERLAY.hostAddress}/${UNDERLAY.prefixLength}`, 'dev', UNDERLAY.bridge]);
  for (const link of ['br-int', 'br-ex', UNDERLAY.bridge]) await must(link, 'ip', ['link', 'set', link, 'up']);
  await startController(say);

  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (!(await chassisRegistered(chassis))) {
    if (Date.now() > deadline) {
      throw new Error(`ovn-controller runs but chassis ${chassis} is not in the southbound database (${OVN_SB_DB}) after ${(opts.timeoutMs ?? 30_000) / 1000} s; see ${OVN_LOG}/ovn-controller.log`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { datapath, nbDb: OVN_NB_DB, sbDb: OVN_SB_DB, chassis };
}

const CLOUD_TABLES = ['Logical_Switch', 'Logical_Router', 'Port_Group', 'DHCP_Options', 'ACL', 'NAT', 'Logical_Router_Static_Route', 'Logical_Switch_Port', 'Logical_Router_Port', 'Gateway_Chassis'];

/**
 * Removes one cloud's northbound rows (a throwaway stack's, once it has stopped) (the roots; OVN drops the rows only they referred to), then answers what
 * is left, '' when nothing.
 */
export async function removeCloudRows(cloudId: string): Promise<string> {
  const find = async (table: string) =>
    (await must('OVN', 'ovn-nbctl', [`--db=${OVN_NB_DB}`, '--timeout=60', '--bare', '--columns=_uuid', 'find', table, `external_ids:aster-cloud=${cloudId}`])).split('\n').map((s) => s.trim()).filter(Boolean);
  const args: string[] = [];
  for (const table of ['Logical_Switch', 'Logical_Router', 'Port_Group', 'DHCP_Options']) for (const u of await find(table)) args.push('--', 'destroy', table, u);
  // The cloud's drop group (@aster/ovn's dropPortGroupName), by its name too.
  const drop = (await must('OVN', 'ovn-nbctl', [`--db=${OVN_NB_DB}`, '--timeout=60', '--bare', '--columns=_uuid', 'find', 'Port_Group', `name=aster_drop_${cloudId.replace(/-/g, '_')}`])).trim();
  if (drop && !args.includes(drop)) args.push('--', 'destroy', 'Port_Group', drop);
  if (args.length) await must('OVN', 'ovn-nbctl', [`--db=${OVN_NB_DB}`, '--timeout=60', ...args]);
  const left: string[] = [];
  for (const table of CLOUD_TABLES) {
    const n = (await find(table)).length;
    if (n) left.push(`${n} ${table}`);
  }
  return left.join(', ');
}
