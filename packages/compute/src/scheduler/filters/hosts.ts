import type { HostFilter } from '../types.ts';
import { pass, refuse } from './result.ts';

/** Nova's AvailabilityZoneFilter: a zone asked for at create holds the instance to that zone's hosts. */
export const availabilityZoneFilter: HostFilter = {
  name: 'AvailabilityZone',
  check(host, spec) {
    const zone = spec.availabilityZone;
    if (zone === null || host.availabilityZone === zone) return pass;
    return refuse(`is not in zone ${zone}`);
  },
};

/** Nova's old RetryFilter: a rescheduled build goes to a host it has not failed on yet. */
export const retryFilter: HostFilter = {
  name: 'Retry',
  check(host, spec) {
    // A retry list holds a handful of names at most: a scan beats building a set per call.
    return spec.ignoreHosts.length > 0 && spec.ignoreHosts.includes(host.host) ? refuse('was already tried for this build') : pass;
  },
};

/**
 * Nova's SameHostFilter: with the hint, only the hosts of the servers named. An empty list (the servers have no
 * host yet) constrains nothing, as in Nova.
 */
export const sameHostFilter: HostFilter = {
  name: 'SameHost',
  check(host, spec) {
    const hosts = spec.hints.sameHost;
    if (!hosts || hosts.length === 0 || hosts.includes(host.host)) return pass;
    return refuse('does not run the servers of the same_host hint');
  },
};

/** Nova's DifferentHostFilter: with the hint, none of the hosts of the servers named. */
export const differentHostFilter: HostFilter = {
  name: 'DifferentHost',
  check(host, spec) {
    const hosts = spec.hints.differentHost;
    if (!hosts || !hosts.includes(host.host)) return pass;
    return refuse('runs a server of the different_host hint');
  },
};

/** Nova's NumInstancesFilter: at most `max` instances per host (Nova's max_instances_per_host). */
export function numInstancesFilter(max: number): HostFilter {
  const reason = `has reached the limit of ${max} instance${max === 1 ? '' : 's'} per host`;
  return {
    name: 'NumInstances',
    check: (host) => (host.instances < max ? pass : refuse(reason)),
  };
}
