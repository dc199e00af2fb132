import { capacity, type HostState, type HostWeigher, type RequestSpec } from './types.ts';

/*
 * Nova's weighers. Each gives a raw value per host, higher better; weighHosts normalises each weigher's values
 * over the hosts to 0..1 and adds them up times the weigher's multiplier (nova/weights.py).
 */

/** Nova's RAMWeigher: more free RAM first (spreads); a negative multiplier stacks. */
export const ramWeigher: HostWeigher = { name: 'Ram', raw: (host) => capacity(host.memoryMb) };

/** Nova's CPUWeigher: more free vCPUs first. */
export const cpuWeigher: HostWeigher = { name: 'Cpu', raw: (host) => capacity(host.vcpu) };

/** Nova's DiskWeigher: more free disk first. */
export const diskWeigher: HostWeigher = { name: 'Disk', raw: (host) => capacity(host.diskGb) };

/** Nova's NumInstancesWeigher: more instances weigh more, so a positive multiplier packs, a negative one spreads. */
export const numInstancesWeigher: HostWeigher = { name: 'NumInstances', raw: (host) => host.instances };

/** Nova's ServerGroupSoftAffinityWeigher: for a soft-affinity group, hosts with more of its members first. */
export const serverGroupSoftAffinityWeigher: HostWeigher = {
  name: 'ServerGroupSoftAffinity',
  raw: (host, spec) => (spec.group?.policy === 'soft-affinity' ? (spec.group.memberHosts[host.host] ?? 0) : 0),
};

/** Nova's ServerGroupSoftAntiAffinityWeigher: for a soft-anti-affinity group, hosts with fewer of its members first. */
export const serverGroupSoftAntiAffinityWeigher: HostWeigher = {
  name: 'ServerGroupSoftAntiAffinity',
  raw: (host, spec) => (spec.group?.policy === 'soft-anti-affinity' ? -(spec.group.memberHosts[host.host] ?? 0) : 0),
};

/** Nova's BuildFailureWeigher: hosts whose recent builds failed go last (Nova weighs this a million times RAM). */
export const buildFailureWeigher: HostWeigher = { name: 'BuildFailure', raw: (host) => -host.failedBuilds };

/** Each weigher's multiplier, by Nova's setting name without `_weight_multiplier`. */
export interface WeightMultipliers {
  ram: number;
  cpu: number;
  disk: number;
  numInstances: number;
  softAffinity: number;
  softAntiAffinity: number;
  buildFailure: number;
}

const weigherOf: Record<keyof WeightMultipliers, HostWeigher> = {
  ram: ramWeigher,
  cpu: cpuWeigher,
  disk: diskWeigher,
  numInstances: numInstancesWeigher,
  softAffinity: serverGroupSoftAffinityWeigher,
  softAntiAffinity: serverGroupSoftAntiAffinityWeigher,
  buildFailure: buildFailureWeigher,
};

/** Nova's defaults: ram, cpu and disk 1, num_instances 0, soft (anti-)affinity 1, build_failure 1000000. */
export const defaultWeightMultipliers: Readonly<WeightMultipliers> = {
  ram: 1,
  cpu: 1,
  disk: 1,
  numInstances: 0,
  softAffinity: 1,
  softAntiAffinity: 1,
  buildFailure: 1_000_000,
};

export interface WeighedBy {
  weigher: HostWeigher;
  multiplier: number;
}

/**
 * Every weigher with its multiplier (Nova's default where none is given); 0 turns one off. Throws, naming it,
 * on a multiplier that is not a finite number or a name it does not know.
 */
export function weighersFromMultipliers(multipliers: Partial<WeightMultipliers> = {}): WeighedBy[] {
  const known = Object.keys(weigherOf);
  for (const [key, value] of Object.entries(multipliers)) {
    if (!Object.hasOwn(weigherOf, key)) throw new Error(`Unknown scheduler weigher '${key}'; known weighers are: ${known.join(', ')}`);
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`The ${key} weight multiplier must be a finite number, not ${String(value)}`);
  }
  return (Object.keys(weigherOf) as (keyof WeightMultipliers)[]).map((key) => ({ weigher: weigherOf[key], multiplier: multipliers[key] ?? defaultWeightMultipliers[key] }));
}

export interface WeighedHost {
  host: HostState;
  weight: number;
}

const byName = (a: WeighedHost, b: WeighedHost) => (a.host.host < b.host.host ? -1 : a.host.host > b.host.host ? 1 : 0);

/**
 * Weighs and orders the hosts, best first; equal weights go by host name so the order is the same every time.
 * Per weigher: raw values normalised to 0..1 by min and max over these hosts (all equal: 0 each), times the
 * multiplier, summed. A weigher with multiplier 0 is not asked at all.
 */
export function weighHosts(hosts: readonly HostState[], spec: RequestSpec, weighers: readonly WeighedBy[]): WeighedHost[] {
  const n = hosts.length;
  const total = new Float64Array(n);
  if (n > 1) {
    const raw = new Float64Array(n);
    for (const { weigher, multiplier } of weighers) {
      if (multiplier === 0) continue;
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < n; i++) {
        const r = weigher.raw(hosts[i]!, spec);
        raw[i] = r;
        if (r < min) min = r;
        if (r > max) max = r;
      }
      if (!(max > min)) continue; // all equal: every host normalises to 0
      const scale = multiplier / (max - min);
      for (let i = 0; i < n; i++) total[i]! += (raw[i]! - min) * scale;
    }
  }
  const weighed: WeighedHost[] = new Array(n);
  for (let i = 0; i < n; i++) weighed[i] = { host: hosts[i]!, weight: total[i]! };
  return weighed.sort((a, b) => b.weight - a.weight || byName(a, b));
}
