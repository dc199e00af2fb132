import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OVN_SB_DB, UNDERLAY, run } from './ovn.ts';

/**
 * One more OVN chassis on this machine, for tests that need two hosts: its own ovsdb-server and
 * ovs-vswitchd (own database file, sockets, pidfiles and control sockets under `dir`) and its own
 * ovn-controller, joined to the machine's southbound database, reaching the machine's chassis over Geneve.
 *
 * Its ovs-vswitchd runs in a network namespace of its own (`netns`), as on another host: the userspace
 * datapath's devices are kernel devices (each vswitchd opens a tap named `ovs-netdev` for its datapath, and
 * a second one beside the machine's fails with "ovs-netdev: creating tap device failed: Device or resource
 * busy", so none of its bridges comes up), and its tunnels are routed by the kernel routes of its namespace.
 * Its underlay bridge `br-phy` holds its Geneve endpoint (`encapIp`, in UNDERLAY's prefix) and is joined by a
 * veth pair to the machine's `br-phy` (see UNDERLAY). A port plugged into it must be a device in its namespace:
 * `plug` moves it there. So a compute agent for it (ASTER_OVS_DB = `db`, ASTER_OVS_BRIDGE = `bridge`) must run
 * inside `netns` (`ip netns exec`): a veth end it makes in the machine's namespace is refused ("could not open
 * network device … (No such device)"). libvirt cannot plug a guest into it at all: libvirtd plugs guests with
 * ovs-vsctl against the default database, i.e. into the machine's chassis.
 */
export interface SecondChassis {
  name: string;
  /** Its integration bridge (`ovn-bridge`). */
  bridge: string;
  /** Its ovsdb-server's socket. */
  db: string;
  /** The network namespace its ovs-vswitchd, its bridges and every device plugged into them live in. */
  netns: string;
  /** Its Geneve endpoint (ovn-encap-ip), on its br-phy. */
  encapIp: string;
  /** The machine's end of the underlay veth pair (a port of the machine's br-phy). */
  underlayPort: string;
  /** ovs-vsctl against its own database; throws with the output on failure. */
  ovsVsctl(...args: string[]): Promise<string>;
  /** ovs-appctl against its own ovs-vswitchd. */
  vswitchdCtl(...args: string[]): Promise<string>;
  /** Moves a device (of the machine's namespace) into its namespace and plugs it into its integration bridge as OVN port `ifaceId`. */
  plug(device: string, ifaceId: string): Promise<void>;
  /** Stops its three daemons, removes its namespace, its underlay link and its chassis in the southbound database. */
  stop(): Promise<void>;
}

export interface SecondChassisOptions {
  /** Its folder: database, sockets, pidfiles, logs. */
  dir: string;
  /** The chassis name (system-id); at most 11 letters, digits or dashes (its device names are made of it). */
  name: string;
  /** Its Geneve endpoint address (ovn-encap-ip), in UNDERLAY's /24; a free one by default. */
  encapIp?: string;
  /** The southbound database; the machine's by default. */
  sbDb?: string;
  timeoutMs?: number;
}

/** The machine's Open vSwitch database (named, as `must` runs with OVS_RUNDIR set to this chassis's folder). */
const MACHINE_OVS_DB = 'unix:/var/run/openvswitch/db.sock';

function pidOf(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return pid > 0 ? pid : null;
}

/** An underlay address no chassis in the southbound database uses, nor this machine's br-phy. */
async function freeEncapIp(sbDb: string): Promise<string> {
  const r = await run('ovn-sbctl', [`--db=${sbDb}`, '--timeout=10', '--bare', '--columns=ip', 'list', 'Encap']);
  const used = new Set([UNDERLAY.hostAddress, ...r.stdout.split('\n').map((l) => l.trim())]);
  for (let i = 0; i < 250; i++) {
    const ip = `${UNDERLAY.prefix}.${2 + ((process.pid + i) % 250)}`;
    if (!used.has(ip)) return ip;
  }
  throw new Error(`no free address in ${UNDERLAY.prefix}.0/${UNDERLAY.prefixLength} for another chassis`);
}

export async function startSecondChassis(o: SecondChassisOptions): Promise<SecondChassis> {
  if (!/^[A-Za-z0-9-]{1,11}$/.test(o.name)) throw new Error(`second chassis name ${o.name}: at most 11 letters, digits or dashes`);
  const dir = o.dir;
  mkdirSync(dir, { recursive: true });
  const file = (n: string) => join(dir, n);
  const db = `unix:${file('db.sock')}`;
  const bridge = `${o.name}-int`;
  const netns = `aster-${o.name}`;
  const underlay = { machine: `${o.name}-u0`, own: `${o.name}-u1` };
  const sbDb = o.sbDb ?? OVN_SB_DB;
  const encapIp = o.encapIp ?? (await freeEncapIp(sbDb));
  // ovn-controller names its control socket <OVN_RUNDIR>/ovn-controller.<pid>.ctl and takes no --unixctl.
  const env = { OVS_RUNDIR: dir, OVN_RUNDIR: dir };
  const must = async (command: string, args: string[]) => {
    const r = await run(command, args, undefined, 60_000, env);
    if (r.code !== 0) throw new Error(`second chassis ${o.name}: ${command} ${args.join(' ')} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}; logs in ${dir}`);
    return r.stdout;
  };
  const ovsVsctl = (...args: string[]) => must('ovs-vsctl', [`--db=${db}`, '--timeout=20', ...args]);
  const vswitchdCtl = (...args: string[]) => must('ovs-appctl', ['-t', file('ovs-vswitchd.ctl'), ...args]);
  const inNetns = (...args: string[]) => must('ip', ['-n', netns, ...args]);
  const daemons = ['ovn-controller', 'ovs-vswitchd', 'ovsdb-server'];
  const stop = async () => {
    for (const d of daemons) {
      const pid = pidOf(file(`${d}.pid`));
      if (!pid) continue;
      // exit through its control socket (vswitchd then removes its bridges' devices), else a signal.
      const ctl = d === 'ovn-controller' ? file(`ovn-controller.${pid}.ctl`) : file(`${d}.ctl`);
      const r = await run('ovs-appctl', ['-t', ctl, 'exit'], undefined, 10_000);
      if (r.code !== 0) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // gone already
        }
      }
    }
    await run('ovs-vsctl', [`--db=${MACHINE_OVS_DB}`, '--timeout=20', '--if-exists', 'del-port', UNDERLAY.bridge, underlay.machine]);
    await run('ip', ['link', 'del', underlay.machine]);
    // Devices plugged into it go with its namespace (a veth's peer with them).
    await run('ip', ['netns', 'del', netns]);
    await run('ovn-sbctl', [`--db=${sbDb}`, '--timeout=10', '--if-exists', 'chassis-del', o.name]);
  };
  const plug = async (device: string, ifaceId: string) => {
    await must('ip', ['link', 'set', device, 'netns', netns]);
    await inNetns('link', 'set', device, 'up');
    await ovsVsctl('--may-exist', 'add-port', bridge, device, '--', 'set', 'Interface', device, `external_ids:iface-id=${ifaceId}`);
  };

  try {
    if (!existsSync(`/sys/class/net/${UNDERLAY.bridge}`)) throw new Error(`second chassis ${o.name}: the machine has no ${UNDERLAY.bridge} (prepareNetworking makes it)`);
    await run('ip', ['netns', 'del', netns]);
    await run('ip', ['link', 'del', underlay.machine]);
    await must('ip', ['netns', 'add', netns]);
    await inNetns('link', 'set', 'lo', 'up');
    if (!existsSync(file('conf.db'))) await must('ovsdb-tool', ['create', file('conf.db'), '/usr/share/openvswitch/vswitch.ovsschema']);
    const common = (d: string) => [
      `--pidfile=${file(`${d}.pid`)}`,
      ...(d === 'ovn-controller' ? [] : [`--unixctl=${file(`${d}.ctl`)}`]),
      `--log-file=${file(`${d}.log`)}`,
      '--detach',
      '--no-chdir',
      '-vconsole:off',
    ];
    await must('ovsdb-server', [file('conf.db'), `--remote=punix:${file('db.sock')}`, ...common('ovsdb-server')]);
    await ovsVsctl('--no-wait', 'init');
    await ovsVsctl(
      '--no-wait', 'set', 'Open_vSwitch', '.',
      'other_config:userspace-tso-enable=true',
      `external_ids:system-id=${o.name}`,
      `external_ids:hostname=${o.name}`,
      `external_ids:ovn-remote=${sbDb}`,
      'external_ids:ovn-encap-type=geneve',
      `external_ids:ovn-encap-ip=${encapIp}`,
      `external_ids:ovn-bridge=${bridge}`,
      'external_ids:ovn-bridge-datapath-type=netdev',
      'external_ids:ovn-remote-probe-interval=60000',
    );
    await ovsVsctl('--no-wait', '--may-exist', 'add-br', bridge, '--', 'set', 'Bridge', bridge, 'datapath_type=netdev', 'fail-mode=secure', 'other-config:disable-in-band=true');
    await ovsVsctl('--no-wait', '--may-exist', 'add-br', UNDERLAY.bridge, '--', 'set', 'Bridge', UNDERLAY.bridge, 'datapath_type=netdev', '--', 'set', 'Interface', UNDERLAY.bridge, `mtu_request=${UNDERLAY.mtu}`);
    await must('ip', ['netns', 'exec', netns, 'ovs-vswitchd', db, ...common('ovs-vswitchd')]);
    // The underlay: a veth pair from the machine's br-phy to its own.
    await must('ip', ['link', 'add', underlay.machine, 'mtu', String(UNDERLAY.mtu), 'type', 'veth', 'peer', 'name', underlay.own, 'mtu', String(UNDERLAY.mtu), 'netns', netns]);
    await must('ip', ['link', 'set', underlay.machine, 'up']);
    await must('ovs-vsctl', [`--db=${MACHINE_OVS_DB}`, '--timeout=20', '--may-exist', 'add-port', UNDERLAY.bridge, underlay.machine]);
    await inNetns('link', 'set', underlay.own, 'up');
    await ovsVsctl('--may-exist', 'add-port', UNDERLAY.bridge, underlay.own);
    await inNetns('addr', 'replace', `${encapIp}/${UNDERLAY.prefixLength}`, 'dev', UNDERLAY.bridge);
    for (const link of [bridge, UNDERLAY.bridge]) await inNetns('link', 'set', link, 'up');
    await must('ovn-controller', [db, ...common('ovn-controller')]);
    const deadline = Date.now() + (o.timeoutMs ?? 30_000);
    for (;;) {
      const r = await run('ovn-sbctl', [`--db=${sbDb}`, '--timeout=5', '--bare', '--columns=name', 'find', 'Chassis', `name=${o.name}`]);
      if (r.code === 0 && r.stdout.trim() === o.name) break;
      if (Date.now() > deadline) throw new Error(`second chassis ${o.name}: not in the southbound database after ${(o.timeoutMs ?? 30_000) / 1000} s; see ${file('ovn-controller.log')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { name: o.name, bridge, db, netns, encapIp, underlayPort: underlay.machine, ovsVsctl, vswitchdCtl, plug, stop };
}
