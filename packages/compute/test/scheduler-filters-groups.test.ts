import { describe, expect, it } from 'vitest';
import { serverGroupAffinityFilter, serverGroupAntiAffinityFilter } from '../src/index.ts';
import { group, host, spec } from './scheduler-fixtures.ts';

describe('ServerGroupAffinity filter', () => {
  it('lets the first member go anywhere', () => {
    expect(serverGroupAffinityFilter.check(host('a'), spec({ group: group('affinity') }))).toEqual({ pass: true });
  });

  it('keeps the others on the host of the members already placed', () => {
    const s = spec({ group: group('affinity', { b: 2 }) });
    expect(serverGroupAffinityFilter.check(host('b'), s)).toEqual({ pass: true });
    expect(serverGroupAffinityFilter.check(host('a'), s)).toEqual({ pass: false, reason: 'does not run the other members of group web' });
  });

  it('leaves other policies and no group alone', () => {
    for (const policy of ['anti-affinity', 'soft-affinity', 'soft-anti-affinity'] as const) {
      expect(serverGroupAffinityFilter.check(host('a'), spec({ group: group(policy, { b: 1 }) }))).toEqual({ pass: true });
    }
    expect(serverGroupAffinityFilter.check(host('a'), spec())).toEqual({ pass: true });
  });
});

describe('ServerGroupAntiAffinity filter', () => {
  it('refuses a host that already runs a member', () => {
    const s = spec({ group: group('anti-affinity', { b: 1 }) });
    expect(serverGroupAntiAffinityFilter.check(host('a'), s)).toEqual({ pass: true });
    expect(serverGroupAntiAffinityFilter.check(host('b'), s)).toEqual({ pass: false, reason: 'already runs a member of group web' });
  });

  it('allows up to max_server_per_host members on one host', () => {
    const s = spec({ group: group('anti-affinity', { a: 1, b: 2, c: 3 }, 2) });
    expect(serverGroupAntiAffinityFilter.check(host('a'), s)).toEqual({ pass: true });
    expect(serverGroupAntiAffinityFilter.check(host('b'), s)).toEqual({ pass: false, reason: 'already runs 2 members of group web, at most 2 per host' });
    expect(serverGroupAntiAffinityFilter.check(host('c'), s)).toEqual({ pass: false, reason: 'already runs 3 members of group web, at most 2 per host' });
  });

  it('never filters for soft anti-affinity (its weigher spreads instead)', () => {
    expect(serverGroupAntiAffinityFilter.check(host('b'), spec({ group: group('soft-anti-affinity', { b: 5 }) }))).toEqual({ pass: true });
    expect(serverGroupAntiAffinityFilter.check(host('b'), spec({ group: group('affinity', { b: 5 }) }))).toEqual({ pass: true });
  });
});
