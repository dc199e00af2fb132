import { stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { powerStates, type PowerState } from '@aster/compute';
import type { LifecycleEventName } from '../driver.ts';

// What the LibvirtDriver reads from libvirt and the host, as pure functions where it can.

const { NOSTATE, RUNNING, PAUSED, SHUTDOWN, CRASHED, SUSPENDED } = powerStates;

export interface DomInfo {
  state: string;
  vcpus: number;
  ramMb: number;
  managedSave: boolean;
}

export function parseDominfo(out: string): DomInfo {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(out)?.[1]?.trim() ?? '';
  return {
    state: field('State'),
    vcpus: Number(field('CPU\\(s\\)')) || 0,
    ramMb: Math.round((Number(field('Max memory').split(' ')[0]) || 0) / 1024),
    managedSave: field('Managed save') === 'yes',
  };
}

/** The libvirt and QEMU versions `virsh version` names. */
export function parseVersion(out: string): { libvirtVersion: string | null; qemuVersion: string | null } {
  return {
    libvirtVersion: /Using library: libvirt ([\d.]+)/.exec(out)?.[1] ?? null,
    qemuVersion: /Running hypervisor: QEMU ([\d.]+)/.exec(out)?.[1] ?? null,
  };
}

/** The host's CPUs and memory from `virsh nodeinfo`. */
export function parseNodeinfo(out: string): { cpus: number; ramMb: number } {
  const cpus = Number(/^CPU\(s\):\s*(\d+)/m.exec(out)?.[1] ?? 1);
  const memKib = Number(/^Memory size:\s*(\d+)/m.exec(out)?.[1] ?? 0);
  return { cpus, ramMb: Math.floor(memKib / 1024) };
}

/** Nova's libvirt → power state map; a shut-off domain with a managed save is a suspended one. */
export function powerStateOf(d: Pick<DomInfo, 'state' | 'managedSave'>): PowerState {
  switch (d.state) {
    case 'running':
    case 'idle':
    case 'blocked':
    case 'in shutdown':
      return RUNNING;
    case 'paused':
      return PAUSED;
    case 'shut off':
      return d.managedSave ? SUSPENDED : SHUTDOWN;
    case 'crashed':
      return CRASHED;
    case 'pmsuspended':
      return SUSPENDED;
    default:
      return NOSTATE;
  }
}

/** libvirt's lifecycle event names, as the driver reports them. */
export const EVENTS: Record<string, LifecycleEventName> = {
  Started: 'started',
  Resumed: 'resumed',
  Suspended: 'paused',
  Stopped: 'stopped',
  Shutdown: 'stopped',
  Crashed: 'crashed',
  Undefined: 'deleted',
  PMSuspended: 'suspended',
};

/** The first folder on the way to `path` that others may not enter, or null. */
export async function closedToOthers(path: string): Promise<string | null> {
  for (let dir = path; ; dir = dirname(dir)) {
    if (!((await stat(dir)).mode & 0o001)) return dir;
    if (dirname(dir) === dir) return null;
  }
}

export function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** `ovs-vsctl get bridge <bridge> datapath_type`: empty (the default) or `system` is the kernel's; `netdev` the userspace one. */
export function ovsDatapathOf(out: string): 'system' | 'netdev' {
  const type = out.trim().replace(/^"(.*)"$/, '$1');
  if (type === '' || type === 'system') return 'system';
  if (type === 'netdev') return 'netdev';
  throw new Error(`unknown Open vSwitch datapath type ${type}`);
}

const ipNum = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

export function inSubnet(ip: string, address: string, netmask: string): boolean {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const mask = ipNum(netmask);
  return (ipNum(ip) & mask) >>> 0 === (ipNum(address) & mask) >>> 0;
}
