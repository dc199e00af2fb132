import type { HostFilter, HostState, RequestSpec } from '../types.ts';
import { aggregateInstanceExtraSpecsFilter } from './aggregates.ts';
import { computeFilter } from './compute.ts';
import { groupRefusal, serverGroupAffinityFilter, serverGroupAntiAffinityFilter } from './groups.ts';
import { availabilityZoneFilter, differentHostFilter, numInstancesFilter, retryFilter, sameHostFilter } from './hosts.ts';
import { imagePropertiesFilter } from './image.ts';
import { cpuFilter, diskFilter, ramFilter } from './resources.ts';

export { aggregateInstanceExtraSpecsFilter, computeFilter, groupRefusal, serverGroupAffinityFilter, serverGroupAntiAffinityFilter };
export { availabilityZoneFilter, differentHostFilter, numInstancesFilter, retryFilter, sameHostFilter };
export { imagePropertiesFilter, cpuFilter, diskFilter, ramFilter };

/** What filters with a setting are made with. */
export interface FilterSettings {
  /** NumInstances: instances one host may hold (Nova's max_instances_per_host). */
  maxInstancesPerHost: number;
}

export const defaultFilterSettings: FilterSettings = { maxInstancesPerHost: 50 };

const registry: Record<string, (settings: FilterSettings) => HostFilter> = {
  Retry: () => retryFilter,
  AvailabilityZone: () => availabilityZoneFilter,
  Compute: () => computeFilter,
  RAM: () => ramFilter,
  CPU: () => cpuFilter,
  Disk: () => diskFilter,
  ImageProperties: () => imagePropertiesFilter,
  AggregateInstanceExtraSpecs: () => aggregateInstanceExtraSpecsFilter,
  ServerGroupAntiAffinity: () => serverGroupAntiAffinityFilter,
  ServerGroupAffinity: () => serverGroupAffinityFilter,
  SameHost: () => sameHostFilter,
  DifferentHost: () => differentHostFilter,
  NumInstances: (s) => numInstancesFilter(s.maxInstancesPerHost),
};

export const knownFilterNames: readonly string[] = Object.keys(registry);

/**
 * Nova's order: cheap and decisive first (a retry's tried hosts, the zone, the service), then resources, the
 * image, aggregates, groups and hints. An explanation counts a host at the first filter that refuses it, so
 * this order is also the order of the reasons a tenant reads. NumInstances is off unless asked for, as in Nova.
 */
export const defaultFilterNames: readonly string[] = knownFilterNames.filter((name) => name !== 'NumInstances');

/** The filters named, in the order given. Throws on a name it does not know, listing the ones it does. */
export function filtersByName(names: readonly string[], settings: FilterSettings = defaultFilterSettings): HostFilter[] {
  const seen = new Set<string>();
  return names.map((name) => {
    const make = Object.hasOwn(registry, name) ? registry[name] : undefined;
    if (!make) throw new Error(`Unknown scheduler filter '${name}'; known filters are: ${[...knownFilterNames].sort().join(', ')}`);
    if (seen.has(name)) throw new Error(`Scheduler filter '${name}' is listed twice`);
    seen.add(name);
    return make(settings);
  });
}

/** One filter's pass over the hosts that reached it: those it removed, and why. */
export interface FilterRun {
  filter: string;
  entered: number;
  removed: { host: string; reason: string; free?: number }[];
}

export interface FilterOutcome {
  passed: HostState[];
  runs: FilterRun[];
}

/** Runs the filters in order; a host leaves at the first filter that refuses it and is counted there only. */
export function runFilters(hosts: readonly HostState[], spec: RequestSpec, filters: readonly HostFilter[]): FilterOutcome {
  let current = hosts as HostState[];
  const runs: FilterRun[] = [];
  for (const filter of filters) {
    const removed: FilterRun['removed'] = [];
    let kept: HostState[] | null = null; // copied only once a host is removed
    for (let i = 0; i < current.length; i++) {
      const host = current[i]!;
      const result = filter.check(host, spec);
      if (result.pass) {
        kept?.push(host);
        continue;
      }
      kept ??= current.slice(0, i);
      removed.push(result.free === undefined ? { host: host.host, reason: result.reason } : { host: host.host, reason: result.reason, free: result.free });
    }
    runs.push({ filter: filter.name, entered: current.length, removed });
    if (kept) current = kept;
  }
  return { passed: current === hosts ? [...hosts] : current, runs };
}
