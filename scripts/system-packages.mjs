// System components Aster needs from the operating system, one entry each. The bootstrap installs the
// missing ones with apt-get before anything else runs. Adding a component is adding an entry here.
import { existsSync, readdirSync } from 'node:fs';

const anyPostgres = () =>
  existsSync('/usr/lib/postgresql') &&
  readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/postgres`));

/**
 * @typedef {object} Component
 * @property {string} name what it is for, shown when it is installed
 * @property {string[]} debs Debian packages that provide it
 * @property {() => boolean} present whether it is already on this machine
 * @property {(command: string, env: Record<string, string | undefined>) => boolean} needed whether this command needs it
 */

/** @type {Component[]} */
export const components = [
  {
    name: 'PostgreSQL server (Aster runs its own cluster in the data folder)',
    debs: ['postgresql-15'],
    present: () => anyPostgres(),
    // With DATABASE_URL the user runs Postgres; tests always use a throwaway cluster of their own.
    needed: (command, env) => command === 'test' || command.startsWith('bench') || !env.DATABASE_URL,
  },
  {
    name: 'libvirt and QEMU (the compute agent runs real virtual machines), with dnsmasq and iptables for their network and genisoimage for config drives',
    debs: ['libvirt-daemon-system', 'libvirt-clients', 'qemu-system-x86', 'qemu-utils', 'dnsmasq-base', 'dnsmasq-utils', 'iptables', 'genisoimage'],
    present: () =>
      ['/usr/sbin/libvirtd', '/usr/bin/virsh', '/usr/bin/qemu-system-x86_64', '/usr/bin/qemu-img', '/usr/sbin/dnsmasq', '/usr/bin/dhcp_release', '/usr/sbin/iptables', '/usr/bin/genisoimage'].every((f) =>
        existsSync(f),
      ),
    // Tests always boot real guests; a start or an extra agent only when it runs the libvirt driver (the default).
    needed: (command, env) => command === 'test' || command === 'bench:boot' || (['start', 'agent'].includes(command) && env.ASTER_DRIVER !== 'fake'),
  },
  {
    name: 'Open vSwitch and OVN (tenant networks: br-int, ovn-controller, the northbound and southbound databases and ovn-northd)',
    debs: ['openvswitch-switch', 'ovn-central', 'ovn-host'],
    present: () =>
      ['/usr/share/openvswitch/scripts/ovs-ctl', '/usr/sbin/ovs-vswitchd', '/usr/bin/ovs-vsctl', '/usr/share/ovn/scripts/ovn-ctl', '/usr/bin/ovn-northd', '/usr/bin/ovn-controller', '/usr/bin/ovn-nbctl'].every((f) =>
        existsSync(f),
      ),
    // Guests plug into br-int whenever real guests run; the fake driver needs no network.
    needed: (command, env) => command === 'test' || command === 'bench:boot' || command === 'bench:network' || (['start', 'agent'].includes(command) && env.ASTER_DRIVER !== 'fake'),
  },
  {
    name: 'ping (the network tests check forwarding with it)',
    debs: ['iputils-ping'],
    present: () => existsSync('/usr/bin/ping') || existsSync('/bin/ping'),
    needed: (command) => command === 'test',
  },
  {
    name: 'tools that build the tiny guest image aster-tiny from Debian packages',
    debs: ['syslinux', 'syslinux-common', 'mtools', 'dosfstools', 'fdisk', 'cpio', 'qemu-utils', 'dropbear-bin'],
    present: () =>
      ['/usr/bin/syslinux', '/usr/lib/syslinux/mbr/mbr.bin', '/usr/bin/mcopy', '/usr/sbin/mkfs.fat', '/usr/sbin/sfdisk', '/usr/bin/cpio', '/usr/bin/qemu-img', '/usr/sbin/dropbear'].every((f) =>
        existsSync(f),
      ),
    needed: (command) => command === 'start' || command === 'test' || command === 'bench:boot',
  },
  {
    name: 'the SPICE HTML5 client (the web console serves it for SPICE consoles)',
    debs: ['spice-html5'],
    present: () => existsSync('/usr/share/spice-html5/main.js'),
    needed: (command) => command === 'start' || command === 'test',
  },
  {
    name: 'websockify (the peer the console proxy benchmark runs beside)',
    debs: ['websockify'],
    present: () => existsSync('/usr/bin/websockify'),
    needed: (command) => command === 'bench:proxy',
  },
  {
    name: 'Chromium (browser tests)',
    debs: ['chromium'],
    present: () => existsSync('/usr/bin/chromium'),
    needed: (command) => command === 'test' || command === 'bench:ui',
  },
];

/**
 * What to do about missing components: nothing, install them, or stop with a message saying what to install.
 * @param {{ command: string, env: Record<string, string | undefined>, isRoot: boolean, debianLike: boolean, components?: Component[] }} facts
 * @returns {{ action: 'none' } | { action: 'install', debs: string[], message: string } | { action: 'stop', message: string }}
 */
export function planSystemInstall({ command, env, isRoot, debianLike, components: list = components }) {
  const missing = list.filter((c) => c.needed(command, env) && !c.present());
  if (!missing.length) return { action: 'none' };
  const debs = [...new Set(missing.flatMap((c) => c.debs))];
  const line = `apt-get update && apt-get install -y --no-install-recommends ${debs.join(' ')}`;
  const what = missing.map((c) => `  - ${c.name}: ${c.debs.join(' ')}`).join('\n');
  if (env.ASTER_NO_SYSTEM_INSTALL === '1') {
    return { action: 'stop', message: `Aster needs these system packages, and ASTER_NO_SYSTEM_INSTALL=1 says not to install them:\n${what}\nInstall them with:\n  ${line}` };
  }
  if (!debianLike) {
    return { action: 'stop', message: `Aster needs these system packages, and this machine is not Debian-like (no apt-get):\n${what}\nInstall their equivalents with your package manager, then run this again.` };
  }
  if (!isRoot) {
    return { action: 'stop', message: `Aster needs these system packages, and installing them needs root:\n${what}\nRun as root:\n  ${line}` };
  }
  return { action: 'install', debs, message: `Installing system packages:\n${what}` };
}
