import { capacity, type HostFilter, type HostResources } from '../types.ts';
import { pass, refuse, vcpus } from './result.ts';

/*
 * Placement's own test (free = floor((total − reserved) × ratio) − used ≥ request, and request ≤ max_unit),
 * repeated as filters so that an explanation run over every host says what each one lacks. A zero request
 * is not asked of placement at all, so it passes whatever the host has.
 */

function fits(r: HostResources, amount: number): 'fits' | 'short' | 'maxUnit' {
  if (amount <= 0) return 'fits';
  if (capacity(r) < amount) return 'short';
  return amount > r.maxUnit ? 'maxUnit' : 'fits';
}

/** Over-committed hosts (after a ratio was lowered) have a negative capacity; they have nothing free. */
const freeOf = (r: HostResources) => Math.max(0, capacity(r));

export const ramFilter: HostFilter = {
  name: 'RAM',
  check(host, spec) {
    const want = spec.resources.ramMb;
    switch (fits(host.memoryMb, want)) {
      case 'fits':
        return pass;
      case 'short':
        return refuse(`lacks ${want} MB of free RAM`, freeOf(host.memoryMb));
      case 'maxUnit':
        return refuse(`can give one instance at most ${host.memoryMb.maxUnit} MB of RAM`);
    }
  },
};

export const cpuFilter: HostFilter = {
  name: 'CPU',
  check(host, spec) {
    const want = spec.resources.vcpus;
    switch (fits(host.vcpu, want)) {
      case 'fits':
        return pass;
      case 'short':
        return refuse(`lacks ${want} free vCPU${want === 1 ? '' : 's'}`, freeOf(host.vcpu));
      case 'maxUnit':
        return refuse(`can give one instance at most ${vcpus(host.vcpu.maxUnit)}`);
    }
  },
};

export const diskFilter: HostFilter = {
  name: 'Disk',
  check(host, spec) {
    const want = spec.resources.diskGb;
    switch (fits(host.diskGb, want)) {
      case 'fits':
        return pass;
      case 'short':
        return refuse(`lacks ${want} GB of free disk`, freeOf(host.diskGb));
      case 'maxUnit':
        return refuse(`can give one instance at most ${host.diskGb.maxUnit} GB of disk`);
    }
  },
};
