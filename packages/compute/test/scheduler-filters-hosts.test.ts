import { describe, expect, it } from 'vitest';
import { availabilityZoneFilter, differentHostFilter, numInstancesFilter, retryFilter, sameHostFilter } from '../src/index.ts';
import { host, spec } from './scheduler-fixtures.ts';

describe('AvailabilityZone filter', () => {
  it('passes every host when no zone was asked for', () => {
    expect(availabilityZoneFilter.check(host('a', { availabilityZone: 'az1' }), spec({ availabilityZone: null }))).toEqual({ pass: true });
  });

  it('passes a host in the zone asked for and refuses one elsewhere, naming the zone', () => {
    expect(availabilityZoneFilter.check(host('a', { availabilityZone: 'az2' }), spec({ availabilityZone: 'az2' }))).toEqual({ pass: true });
    expect(availabilityZoneFilter.check(host('a', { availabilityZone: 'nova' }), spec({ availabilityZone: 'az2' }))).toEqual({ pass: false, reason: 'is not in zone az2' });
  });
});

describe('Retry filter', () => {
  it('removes the hosts this build already tried', () => {
    const s = spec({ ignoreHosts: ['a', 'c'] });
    expect(retryFilter.check(host('a'), s)).toEqual({ pass: false, reason: 'was already tried for this build' });
    expect(retryFilter.check(host('b'), s)).toEqual({ pass: true });
    expect(retryFilter.check(host('a'), spec())).toEqual({ pass: true });
  });
});

describe('SameHost filter', () => {
  it('constrains nothing without the hint, or when the named servers have no host yet', () => {
    expect(sameHostFilter.check(host('a'), spec({ hints: { sameHost: null } }))).toEqual({ pass: true });
    expect(sameHostFilter.check(host('a'), spec({ hints: { sameHost: [] } }))).toEqual({ pass: true });
  });

  it('keeps only the hosts of the servers named', () => {
    const s = spec({ hints: { sameHost: ['b', 'c'] } });
    expect(sameHostFilter.check(host('b'), s)).toEqual({ pass: true });
    expect(sameHostFilter.check(host('a'), s)).toEqual({ pass: false, reason: 'does not run the servers of the same_host hint' });
  });
});

describe('DifferentHost filter', () => {
  it('removes the hosts of the servers named, and nothing without the hint', () => {
    const s = spec({ hints: { differentHost: ['b'] } });
    expect(differentHostFilter.check(host('b'), s)).toEqual({ pass: false, reason: 'runs a server of the different_host hint' });
    expect(differentHostFilter.check(host('a'), s)).toEqual({ pass: true });
    expect(differentHostFilter.check(host('b'), spec())).toEqual({ pass: true });
  });
});

describe('NumInstances filter', () => {
  it('refuses a host at its limit, made with the limit as a setting', () => {
    const filter = numInstancesFilter(3);
    expect(filter.name).toBe('NumInstances');
    expect(filter.check(host('a', { instances: 2 }), spec())).toEqual({ pass: true });
    expect(filter.check(host('a', { instances: 3 }), spec())).toEqual({ pass: false, reason: 'has reached the limit of 3 instances per host' });
    expect(filter.check(host('a', { instances: 7 }), spec())).toEqual({ pass: false, reason: 'has reached the limit of 3 instances per host' });
    expect(numInstancesFilter(1).check(host('a', { instances: 1 }), spec())).toEqual({ pass: false, reason: 'has reached the limit of 1 instance per host' });
  });
});
