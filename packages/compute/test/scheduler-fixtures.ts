import { seededRandom, type GroupRequest, type HostResources, type HostState, type RequestSpec } from '../src/index.ts';

/** Hosts and requests for the scheduler's tests: a roomy, healthy host and a small request unless told otherwise. */

export const res = (total: number, extra: Partial<HostResources> = {}): HostResources => ({ total, reserved: 0, allocationRatio: 1, used: 0, maxUnit: total, ...extra });

export function host(name: string, o: Partial<Omit<HostState, 'host'>> = {}): HostState {
  return {
    host: name,
    providerId: `rp-${name}`,
    generation: 1,
    vcpu: res(16, { allocationRatio: 4 }),
    memoryMb: res(65536, { reserved: 512 }),
    diskGb: res(1000),
    serviceUp: true,
    serviceDisabled: false,
    disabledReason: null,
    forcedDown: false,
    hypervisorType: 'kvm',
    arch: 'x86_64',
    availabilityZone: 'nova',
    aggregates: [],
    instances: 0,
    failedBuilds: 0,
    ...o,
  };
}

export interface SpecParts {
  resources?: Partial<RequestSpec['resources']>;
  image?: Partial<RequestSpec['image']>;
  flavorExtraSpecs?: Record<string, string>;
  availabilityZone?: string | null;
  group?: RequestSpec['group'];
  hints?: Partial<RequestSpec['hints']>;
  ignoreHosts?: string[];
}

export function spec(p: SpecParts = {}): RequestSpec {
  return {
    resources: { vcpus: 1, ramMb: 512, diskGb: 1, ...p.resources },
    image: { minRamMb: 0, minDiskGb: 0, properties: {}, ...p.image },
    flavorExtraSpecs: p.flavorExtraSpecs ?? {},
    availabilityZone: p.availabilityZone ?? null,
    group: p.group ?? null,
    hints: { sameHost: null, differentHost: null, ...p.hints },
    ignoreHosts: p.ignoreHosts ?? [],
  };
}

export function group(policy: GroupRequest['policy'], memberHosts: Record<string, number> = {}, maxServerPerHost = 1): GroupRequest {
  return { id: 'g-1', name: 'web', policy, maxServerPerHost, memberHosts };
}

/** A seeded random, so a random pick is the same on every run. */
export const seeded = seededRandom;

export const names = (hosts: { host: string }[]) => hosts.map((h) => h.host);
