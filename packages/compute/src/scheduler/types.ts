/**
 * What the scheduler's pure parts work on: hosts as the scheduler sees them, and one instance's request.
 * The database side (packages/api) fills these in; filters and weighers only read them.
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

export interface HostAggregate {
  id: string;
  name: string;
  metadata: Record<string, string>;
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
  /** An operator said the host is dead (services.forceDown). */
  forcedDown: boolean;
  hypervisorType: string;
  arch: string;
  /** The host's zone: from its aggregates' `availability_zone`, else the default zone (`nova`). */
  availabilityZone: string;
  aggregates: HostAggregate[];
  /** Instances holding allocations on the host (Nova's num_instances). */
  instances: number;
  /** Builds that failed on the host since its last successful one. */
  failedBuilds: number;
}

export interface ImageRequirements {
  minRamMb: number;
  minDiskGb: number;
  properties: Record<string, string>;
}

export type GroupPolicy = 'affinity' | 'anti-affinity' | 'soft-affinity' | 'soft-anti-affinity';

/** The server group the instance is a member of, with where its other members already are. */
export interface GroupRequest {
  id: string;
  name: string;
  policy: GroupPolicy;
  /** Anti-affinity: members one host may run (1 unless set). */
  maxServerPerHost: number;
  /** Host name → how many other members of the group hold a place there. */
  memberHosts: Record<string, number>;
}

/** One instance to place. */
export interface RequestSpec {
  resources: ResourceRequest;
  image: ImageRequirements;
  /** The flavor's extra specs (`aggregate_instance_extra_specs:key` are matched against aggregate metadata). */
  flavorExtraSpecs: Record<string, string>;
  /** The zone asked for at create; null: any zone. */
  availabilityZone: string | null;
  group: GroupRequest | null;
  /** Scheduler hints, resolved from server ids to the hosts those servers are on. */
  hints: { sameHost: string[] | null; differentHost: string[] | null };
  /** Hosts already tried for this build (a retry must go elsewhere). */
  ignoreHosts: string[];
}

/** Free capacity after the allocation ratio and reservations (placement's formula). */
export function capacity(r: HostResources): number {
  return Math.floor((r.total - r.reserved) * r.allocationRatio) - r.used;
}

/**
 * A filter's verdict on one host. `reason` is written for one host ("is disabled", "is not in zone az2") and
 * is the group key: hosts refused for the same reason are counted together. `free` (optional) is how much the
 * host has of what it lacked, so a group can say "they have at most 4096 MB free".
 */
export type FilterResult = { pass: true } | { pass: false; reason: string; free?: number };

export interface HostFilter {
  /** Nova's filter name without "Filter": Compute, AvailabilityZone, RAM, ServerGroupAntiAffinity … */
  name: string;
  check(host: HostState, spec: RequestSpec): FilterResult;
}

export interface HostWeigher {
  /** Ram, Cpu, Disk, NumInstances, ServerGroupSoftAffinity, ServerGroupSoftAntiAffinity, BuildFailure */
  name: string;
  /** The raw weight of one host, higher is better before the multiplier; normalised over the hosts by the caller. */
  raw(host: HostState, spec: RequestSpec): number;
}

/** Why no host was chosen, as data: per filter in order, how many hosts entered, how many it removed and why. */
export interface Explanation {
  /** Hosts the scheduler knew of. */
  hosts: number;
  filters: {
    filter: string;
    entered: number;
    removed: number;
    reasons: { reason: string; count: number; /** Omitted in the tenant's view. */ hosts?: string[]; mostFree?: number }[];
  }[];
  /** Hosts that passed every filter but whose claim failed (another build took the room first). */
  claimsLost?: number;
}
