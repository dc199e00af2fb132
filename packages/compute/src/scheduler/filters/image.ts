import type { HostFilter, ImageRequirements } from '../types.ts';
import { pass, refuse } from './result.ts';

/*
 * Nova's ImagePropertiesFilter, plus the image minimums: only what a host's state can settle. Properties
 * that need facts the scheduler does not have (NUMA cells, huge pages, firmware files, hypervisor version)
 * are left to the host, which fails the build and lets the conductor try an alternate.
 */

/** Nova's Architecture.canonicalize, plus Debian's names. */
function canonicalArch(name: string): string {
  const a = name.toLowerCase();
  if (a === 'i386' || a === 'i486' || a === 'i586' || a === 'x86_32' || a === 'x86_32p') return 'i686';
  if (a === 'amd64') return 'x86_64';
  if (a === 'arm64') return 'aarch64';
  return a;
}

/** Nova's VMMode.canonicalize. */
function canonicalVmMode(name: string): string {
  const m = name.toLowerCase();
  if (m === 'hv' || m === 'baremetal') return 'hvm';
  if (m === 'pv') return 'xen';
  return m;
}

/** libvirt reports both domain types on a KVM host: a `qemu` image runs there too, a `kvm` one not on a TCG-only host. */
function runsHypervisor(host: string, wanted: string): boolean {
  return host === wanted || (host === 'kvm' && wanted === 'qemu');
}

/** A 64-bit x86 host also runs 32-bit x86 guests; every other architecture runs its own. */
function runsArch(host: string, wanted: string): boolean {
  return host === wanted || (host === 'x86_64' && wanted === 'i686');
}

/** QEMU machine types by family, and the architectures that have them. Unknown types are not judged. */
const machineFamilies: [prefix: string, arches: string[]][] = [
  ['pc', ['x86_64', 'i686']],
  ['q35', ['x86_64', 'i686']],
  ['microvm', ['x86_64', 'i686']],
  ['isapc', ['x86_64', 'i686']],
  ['virt', ['aarch64', 'armv7l', 'riscv64']],
  ['pseries', ['ppc64', 'ppc64le']],
  ['s390-ccw-virtio', ['s390x']],
];

const libvirtTypes = new Set(['kvm', 'qemu']);

interface ImageNeeds {
  minRamMb: number;
  minDiskGb: number;
  hypervisor: string | null;
  arch: string | null;
  vmMode: string | null;
  machineType: string | null;
  machineArches: string[] | null;
  /** Whether anything beyond the minimums is asked: most images ask nothing, and then a host costs two comparisons. */
  asksMore: boolean;
}

// Parsed once per image object, not once per host.
const parsed = new WeakMap<ImageRequirements, ImageNeeds>();

function needsOf(image: ImageRequirements): ImageNeeds {
  let needs = parsed.get(image);
  if (needs) return needs;
  const p = image.properties;
  const hv = p.hypervisor_type ?? p.img_hv_type;
  const arch = p.hw_architecture ?? p.architecture;
  const vmMode = p.hw_vm_mode ?? p.vm_mode;
  const machineType = p.hw_machine_type?.toLowerCase() ?? null;
  const family = machineType ? machineFamilies.find(([prefix]) => machineType === prefix || machineType.startsWith(`${prefix}-`)) : undefined;
  needs = {
    minRamMb: image.minRamMb,
    minDiskGb: image.minDiskGb,
    hypervisor: hv ? hv.toLowerCase() : null,
    arch: arch ? canonicalArch(arch) : null,
    vmMode: vmMode ? canonicalVmMode(vmMode) : null,
    machineType,
    machineArches: family ? family[1] : null,
    asksMore: false,
  };
  needs.asksMore = Boolean(needs.hypervisor || needs.arch || needs.vmMode || needs.machineArches);
  parsed.set(image, needs);
  return needs;
}

export const imagePropertiesFilter: HostFilter = {
  name: 'ImageProperties',
  check(host, spec) {
    const needs = needsOf(spec.image);
    // The minimums are against what the host has at all: free room is the RAM and Disk filters' business.
    if (needs.minRamMb > host.memoryMb.total) return refuse(`has less than the image's minimum of ${needs.minRamMb} MB RAM in total`);
    if (needs.minDiskGb > host.diskGb.total) return refuse(`has less than the image's minimum of ${needs.minDiskGb} GB disk in total`);
    if (!needs.asksMore) return pass;
    const hostHv = host.hypervisorType.toLowerCase();
    if (needs.hypervisor && !runsHypervisor(hostHv, needs.hypervisor)) return refuse(`runs ${hostHv}, the image asks for ${needs.hypervisor}`);
    const hostArch = canonicalArch(host.arch);
    if (needs.arch && !runsArch(hostArch, needs.arch)) return refuse(`is ${hostArch}, the image asks for ${needs.arch}`);
    if (libvirtTypes.has(hostHv)) {
      if (needs.vmMode && needs.vmMode !== 'hvm') return refuse(`runs ${hostHv}, which has no vm mode ${needs.vmMode}`);
      if (needs.machineArches && !needs.machineArches.includes(hostArch)) return refuse(`is ${hostArch}, which has no machine type ${needs.machineType}`);
    }
    return pass;
  },
};
