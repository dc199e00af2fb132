import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OVN_SB_DB, run } from './ovn.ts';

/**
 * One more OVN chassis on this machine, for tests that need two hosts: its own ovsdb-server and
 * ovs-vswitchd (own database file, sockets, pidfiles and control sockets under `dir`) and its own
 * ovn-controller, joined to the machine's southbound database. Its integration bridge has its own name
 * (bridges of the userspace datapath are kernel devices, so two cannot both be br-int).
 */
export interface SecondChassis {
  name: string;
  /** Its integration bridge (`ovn-bridge`). */
  bridge: string;
  /** Its ovsdb-server's socket. */
  db: string;
  /** ovs-vsctl against its own database; throws with the output on failure. */
  ovsVsctl(...args: string[]): Promise<string>;
  /** Stops its three daemons and removes its chassis from the southbound database. */
  stop(): Promise<void>;
}

export interface SecondChassisOptions {
  /** Its folder: database, sockets, pidfiles, logs. */
  dir: string;
  /** The chassis name (system-id). */
  name: string;
  /** Its Geneve endpoint address (ovn-encap-ip). */
  encapIp?: string;
  /** The southbound database; the machine's by default. */
  sbDb?: string;
  timeoutMs?: number;
}

function pidOf(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return pid > 0 ? pid : null;
}

export async function startSecondChassis(o: SecondChassisOptions): Promise<SecondChassis> {
  const dir = o.dir;
  mkdirSync(dir, { recursive: true });
  const file = (n: string) => join(dir, n);
  const db = `unix:${file('db.sock')}`;
  const bridge = `${o.name}-int`.slice(0, 15);
  const sbDb = o.sbDb ?? OVN_SB_DB;
  // ovn-controller names its control socket <OVN_RUNDIR>/ovn-controller.<pid>.ctl and takes no --unixctl.
  const env = { OVS_RUNDIR: dir, OVN_RUNDIR: dir };
  const must = async (command: string, args: string[]) => {
    const r = await run(command, args, undefined, 60_000, env);
    if (r.code !== 0) throw new Error(`second chassis ${o.name}: ${command} ${args.join(' ')} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}; logs in ${dir}`);
    return r.stdout;
  };
  const ovsVsctl = (...args: string[]) => must('ovs-vsctl', [`--db=${db}`, '--timeout=20', ...args]);
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
    await run('ovn-sbctl', [`--db=${sbDb}`, '--timeout=10', '--if-exists', 'chassis-del', o.name]);
  };

  try {
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
      `external_ids:ovn-encap-ip=${o.encapIp ?? '127.0.0.2'}`,
      `external_ids:ovn-bridge=${bridge}`,
      'external_ids:ovn-bridge-datapath-type=netdev',
      'external_ids:ovn-remote-probe-interval=60000',
    );
    await ovsVsctl('--no-wait', '--may-exist', 'add-br', bridge, '--', 'set', 'Bridge', bridge, 'datapath_type=netdev', 'fail-mode=secure', 'other-config:disable-in-band=true');
    await must('ovs-vswitchd', [db, ...common('ovs-vswitchd')]);
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
  return { name: o.name, bridge, db, ovsVsctl, stop };
}
