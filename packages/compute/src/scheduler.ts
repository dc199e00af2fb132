/**
 * The scheduler's pure parts (Nova's filters and weighers): given hosts that placement says have room, drop
 * those a filter refuses, order the rest, and explain in words why nothing fits when nothing does.
 */

export interface ResourceRequest {
  vcpus: number;
  ramMb: number;
  diskGb: number;
}

export interface HostResources {
  total: number;
  reserved: number;
  allocationRatio: number;
  used: number;
  maxUnit: number;
}

/** One compute host as the scheduler sees it. */
export interface HostState {
  host: string;
  providerId: string;
  generation: number;
  vcpu: HostResources;
  memoryMb: HostResources;
  diskGb: HostResources;
  serviceUp: boolean;
  serviceDisabled: boolean;
  disabledReason: string | null;
  hypervisorType: string;
  arch: string;
}

export interface ImageRequirements {
  minRamMb: number;
  minDiskGb: number;
  properties: Record<string, string>;
}

export interface RequestSpec {
  resources: ResourceRequest;
  image: ImageRequirements;
}

/** Free capacity after the allocation ratio and reservations (placement's formula). */
export function capacity(r: HostResources): number {
  return Math.floor((r.total - r.reserved) * r.allocationRatio) - r.used;
}

export type FilterResult = { pass: true } | { pass: false; reason: string };

export interface HostFilter {
  name: string;
  /** The reason is a group key: hosts refused for the same reason are counted together. */
  check(host: HostState, spec: RequestSpec): FilterResult;
}

const ok: FilterResult = { pass: true };

/** Placement's own test, repeated as a filter so that an explanation covers hosts placement left out. */
export const resourcesFilter: HostFilter = {
  name: 'Resources',
  check(host, spec) {
    const lacks: string[] = [];
    const { vcpus, ramMb, diskGb } = spec.resources;
    if (capacity(host.memoryMb) < ramMb) lacks.push(`${ramMb} MB of free RAM`);
    if (capacity(host.vcpu) < vcpus) lacks.push(`${vcpus} free vCPU${vcpus === 1 ? '' : 's'}`);
    if (diskGb > 0 && capacity(host.diskGb) < diskGb) lacks.push(`${diskGb} GB of free disk`);
    if (lacks.length) return { pass: false, reason: `lacked ${lacks.join(' and ')}` };
    if (vcpus > host.vcpu.maxUnit || ramMb > host.memoryMb.maxUnit || (diskGb > 0 && diskGb > host.diskGb.maxUnit)) {
      return { pass: false, reason: 'cannot give that much to a single instance (max unit)' };
    }
    return ok;
  },
};

/** Nova's ComputeFilter: the host's compute service is up and enabled. */
export const computeFilter: HostFilter = {
  name: 'Compute',
  check(host) {
    if (host.serviceDisabled) return { pass: false, reason: `is disabled${host.disabledReason ? `: ${host.disabledReason}` : ''}` };
    if (!host.serviceUp) return { pass: false, reason: 'is down (no heartbeat)' };
    return ok;
  },
};

/** Image minimums against what the host has at all, and image properties against its capabilities. */
export const imagePropertiesFilter: HostFilter = {
  name: 'ImageProperties',
  check(host, spec) {
    const { minRamMb, minDiskGb, properties } = spec.image;
    if (minRamMb > host.memoryMb.total) return { pass: false, reason: `has less than the image's minimum of ${minRamMb} MB RAM in total` };
    if (minDiskGb > host.diskGb.total) return { pass: false, reason: `has less than the image's minimum of ${minDiskGb} GB disk in total` };
    const hv = properties.hypervisor_type ?? properties.img_hv_type;
    if (hv && hv !== host.hypervisorType) return { pass: false, reason: `runs ${host.hypervisorType}, the image asks for ${hv}` };
    const arch = properties.hw_architecture ?? properties.architecture;
    if (arch && arch !== host.arch) return { pass: false, reason: `is ${host.arch}, the image asks for ${arch}` };
    return ok;
  },
};

export const defaultFilters: HostFilter[] = [computeFilter, resourcesFilter, imagePropertiesFilter];

export interface FilterRun {
  filter: string;
  entered: number;
  removed: { host: string; reason: string }[];
}

export interface FilterOutcome {
  passed: HostState[];
  runs: FilterRun[];
}

export function runFilters(hosts: HostState[], spec: RequestSpec, filters: HostFilter[] = defaultFilters): FilterOutcome {
  let current = hosts;
  const runs: FilterRun[] = [];
  for (const filter of filters) {
    const removed: FilterRun['removed'] = [];
    const kept: HostState[] = [];
    for (const host of current) {
      const result = filter.check(host, spec);
      if (result.pass) kept.push(host);
      else removed.push({ host: host.host, reason: result.reason });
    }
    runs.push({ filter: filter.name, entered: current.length, removed });
    current = kept;
  }
  return { passed: current, runs };
}

/** Nova's RAMWeigher: more free RAM first (spreading), normalised to 0..1, times the multiplier. */
export function weighByRam(hosts: HostState[], multiplier = 1): HostState[] {
  if (hosts.length < 2) return hosts;
  const free = hosts.map((h) => capacity(h.memoryMb));
  const min = Math.min(...free);
  const max = Math.max(...free);
  const weight = (h: HostState) => (max === min ? 0 : ((capacity(h.memoryMb) - min) / (max - min)) * multiplier);
  return [...hosts].sort((a, b) => weight(b) - weight(a) || a.host.localeCompare(b.host));
}

/**
 * Why no host was chosen, grouped by reason: "No valid host: 2 hosts lacked 8192 MB of free RAM; 1 host is
 * disabled: maintenance". With `hostNames`, each group names its hosts (for administrators).
 */
export function explainNoValidHost(runs: FilterRun[], totalHosts: number, options: { hostNames?: boolean } = {}): string {
  if (totalHosts === 0) return 'No valid host: no compute host is registered';
  const parts: string[] = [];
  for (const run of runs) {
    const groups = new Map<string, string[]>();
    for (const r of run.removed) groups.set(r.reason, [...(groups.get(r.reason) ?? []), r.host]);
    for (const [reason, hosts] of groups) {
      const count = `${hosts.length} host${hosts.length === 1 ? '' : 's'}`;
      parts.push(`${count} ${hosts.length === 1 ? reason : plural(reason)}${options.hostNames ? ` (${hosts.join(', ')})` : ''}`);
    }
  }
  if (parts.length) return `No valid host: ${parts.join('; ')}`;
  return `No valid host: ${totalHosts === 1 ? 'the only host could not be claimed' : `none of ${totalHosts} hosts could be claimed`}`;
}

/** Reasons are written for one host ("is disabled", "runs kvm"); several hosts take the plural verb. */
function plural(reason: string): string {
  const [verb = '', ...rest] = reason.split(' ');
  const verbs: Record<string, string> = { is: 'are', has: 'have', runs: 'run' };
  return verbs[verb] ? [verbs[verb], ...rest].join(' ') : reason;
}
