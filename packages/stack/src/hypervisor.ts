import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureGuestImage, type GuestImage } from './guest-image.ts';
import { prepareNetworking, type Networking } from './ovn.ts';
import { pidAlive } from './daemons.ts';

const LIBVIRT_URI = 'qemu:///system';

function libvirtAnswers(): boolean {
  return spawnSync('virsh', ['-q', '-c', LIBVIRT_URI, 'version'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}


function startDaemon(command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // `-d` forks into the background; the parent exits once the daemon is set up.
    const child = spawn(command, ['-d'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', (error) => reject(new Error(`cannot start ${command}: ${error.message} (is libvirt-daemon-system installed?)`)));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} -d failed (exit ${code}): ${stderr.trim()}`))));
  });
}

/**
 * libvirt for the compute agent: on machines without systemd nothing starts `virtlogd` and `libvirtd`, so the
 * launcher does (they keep running after Aster stops, as system daemons do).
 */
export async function prepareHypervisor(say: (line: string) => void): Promise<void> {
  openKvmToItsGroup(say);
  if (libvirtAnswers()) return;
  if (process.getuid?.() !== 0) {
    throw new Error('libvirt is not running, and starting it needs root: run `virtlogd -d` and `libvirtd -d` as root (or start them with your init system)');
  }
  say('Starting libvirt (virtlogd, libvirtd)…');
  if (!pidAlive('/run/virtlogd.pid')) await startDaemon('virtlogd');
  if (!pidAlive('/run/libvirtd.pid')) await startDaemon('libvirtd');
  const deadline = Date.now() + 30_000;
  while (!libvirtAnswers()) {
    if (Date.now() > deadline) throw new Error('libvirtd started but does not answer on qemu:///system within 30 s; see /var/log/libvirt/libvirtd.log');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * What udev's rule does on a normal host: /dev/kvm belongs to group kvm, mode 660. Where no udev runs it stays
 * root's alone; libvirt then finds KVM unusable for QEMU's user, takes its cached capabilities for outdated and
 * probes QEMU again on every `virsh define` (30 s each, past a minute under load).
 */
export function openKvmToItsGroup(say: (line: string) => void, device = '/dev/kvm'): void {
  if (process.getuid?.() !== 0 || !existsSync(device)) return;
  const gid = Number(spawnSync('getent', ['group', 'kvm'], { encoding: 'utf8' }).stdout.split(':')[2]);
  if (!Number.isInteger(gid) || gid <= 0) return;
  const st = statSync(device);
  if (st.gid === gid && (st.mode & 0o060) === 0o060) return;
  say(`Giving ${device} to group kvm, mode 660 (as udev would)…`);
  chownSync(device, st.uid, gid);
  chmodSync(device, (st.mode & 0o7777) | 0o060);
}

/** Whether every folder above `path` lets others in: QEMU runs as its own user and must reach the disks. */
function reachableByOthers(path: string): boolean {
  for (let dir = path; ; dir = dirname(dir)) {
    if (existsSync(dir) && !(statSync(dir).mode & 0o001)) return false;
    if (dirname(dir) === dir) return true;
  }
}

/**
 * Where the agent keeps instances' disks and its image cache: in the data folder when QEMU's user can reach
 * it, else under /var/lib/aster (one folder per data folder, so two Asters on one machine do not mix).
 */
export function computeStateDir(dataDir: string): string {
  const inData = join(dataDir, 'compute');
  if (reachableByOthers(dataDir)) return inData;
  const tag = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const dir = join('/var/lib/aster', `compute-${tag}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

/** A random secret kept in a file of the data folder, made on first use. */
export function secretIn(file: string): string {
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/**
 * What a compute host on this machine needs before the agent starts: libvirt running and Open vSwitch and
 * OVN with this host as a chassis (unless the agent runs the fake driver), the guest image aster-tiny built
 * (once; its build is cached in the data folder), and the agent's own folder.
 */
export async function prepareComputeHost(
  dataDir: string,
  env: Record<string, string | undefined>,
  say: (line: string) => void,
): Promise<{ stateDir: string; guest: GuestImage; networking: Networking | null }> {
  const began = Date.now();
  const real = env.ASTER_DRIVER !== 'fake';
  const [guest, networking] = await Promise.all([
    ensureGuestImage({ dataDir }),
    real
      ? prepareHypervisor(say).then(() =>
          prepareNetworking(say, { chassis: env.ASTER_COMPUTE_HOST || hostname(), libvirtNetwork: env.ASTER_LIBVIRT_NETWORK || 'default' }),
        )
      : null,
  ]);
  if (guest.built) say(`Guest image aster-tiny built in ${((Date.now() - began) / 1000).toFixed(1)} s (${guest.path})`);
  return { stateDir: computeStateDir(dataDir), guest, networking };
}

/** The settings that tell the API and the agent where OVN is and which datapath the agent plugs into. */
export function networkingEnv(networking: Networking | null): { api: Record<string, string>; agent: Record<string, string> } {
  if (!networking) return { api: {}, agent: {} };
  return {
    api: { ASTER_OVN_NB_DB: networking.nbDb, ASTER_OVN_SB_DB: networking.sbDb },
    agent: { ASTER_OVS_DATAPATH: networking.datapath },
  };
}

/**
 * Removes the libvirt domains whose disks live under `dir` (a test run's folder), with their DHCP entries:
 * nothing a throwaway stack created outlives it.
 */
export function removeDomainsUnder(dir: string): string[] {
  const virsh = (...args: string[]) => spawnSync('virsh', ['-q', '-c', LIBVIRT_URI, ...args], { encoding: 'utf8', timeout: 60_000 });
  const list = virsh('list', '--all', '--uuid');
  if (list.status !== 0) return [];
  const removed: string[] = [];
  for (const id of list.stdout.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const xml = virsh('dumpxml', '--inactive', id).stdout ?? '';
    if (!xml.includes(`file='${dir}/`)) continue;
    virsh('destroy', id);
    virsh('undefine', id, '--managed-save', '--snapshots-metadata');
    for (const m of xml.matchAll(/<aster:port mac='([^']+)' ip='([^']+)'\/>/g)) {
      virsh('net-update', 'default', 'delete', 'ip-dhcp-host', `<host mac='${m[1]}' ip='${m[2]}'/>`, '--live', '--config');
    }
    removed.push(id);
  }
  return removed;
}
