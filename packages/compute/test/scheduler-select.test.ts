import { describe, expect, it } from 'vitest';
import { filtersByName, pickHost, selectHosts, weighersFromMultipliers, type WeighedHost } from '../src/index.ts';
import { host, names, res, seeded, spec } from './scheduler-fixtures.ts';

describe('pickHost', () => {
  const best = ['a', 'b', 'c', 'd', 'e'];
  // Weighed hosts, best first, as weighHosts answers them.
  const weighed = (list: string[]): WeighedHost[] => list.map((name, i) => ({ host: host(name), weight: list.length - i }));
  const pick = (list: string[], size: number, random: () => number) => names(pickHost(weighed(list), size, random));

  it('takes the best with a subset of 1, whatever the random says', () => {
    expect(pick(best, 1, () => 0.99)).toEqual(best);
    expect(pick(best, 0, () => 0.99)).toEqual(best); // at least 1, as Nova
  });

  it('chooses among the best N and keeps the rest in order as alternates', () => {
    expect(pick(best, 3, () => 0)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(pick(best, 3, () => 0.5)).toEqual(['b', 'a', 'c', 'd', 'e']);
    expect(pick(best, 3, () => 0.999)).toEqual(['c', 'a', 'b', 'd', 'e']);
  });

  it('never picks beyond the best N, over many seeded draws, and reaches each of them', () => {
    const random = seeded(42);
    const firsts = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const picked = pick(best, 3, random);
      expect(picked).toHaveLength(5);
      expect([...picked].sort()).toEqual(best);
      firsts.add(picked[0]!);
    }
    expect([...firsts].sort()).toEqual(['a', 'b', 'c']);
  });

  it('gives the same pick for the same seed', () => {
    expect(pick(best, 5, seeded(7))).toEqual(pick(best, 5, seeded(7)));
  });

  it('copes with a subset larger than the list, and with no hosts', () => {
    expect(pick(['a', 'b'], 10, () => 0.9)).toEqual(['b', 'a']);
    expect(pick([], 3, () => 0.5)).toEqual([]);
  });
});

describe('selectHosts', () => {
  it('filters, weighs and orders the hosts that pass, best first', () => {
    const hosts = [
      host('small', { memoryMb: res(4096) }),
      host('off', { serviceDisabled: true }),
      host('big', { memoryMb: res(131072) }),
      host('mid', { memoryMb: res(65536) }),
      host('tiny', { memoryMb: res(1024) }),
    ];
    const { ordered, runs } = selectHosts(hosts, spec({ resources: { ramMb: 2048 } }), {
      filters: filtersByName(['Compute', 'RAM']),
      weighers: weighersFromMultipliers({ cpu: 0, disk: 0 }),
    });
    expect(names(ordered)).toEqual(['big', 'mid', 'small']);
    expect(runs.map((r) => [r.filter, r.entered, names(r.removed)])).toEqual([
      ['Compute', 5, ['off']],
      ['RAM', 4, ['tiny']],
    ]);
  });

  it('picks among the best hostSubsetSize with the random given', () => {
    const hosts = [host('a', { memoryMb: res(1024) }), host('b', { memoryMb: res(2048) }), host('c', { memoryMb: res(4096) })];
    const options = { filters: [], weighers: weighersFromMultipliers({ cpu: 0, disk: 0 }), hostSubsetSize: 2, random: () => 0.75 };
    expect(names(selectHosts(hosts, spec({ resources: { ramMb: 512 } }), options).ordered)).toEqual(['b', 'c', 'a']);
  });

  it('lets the caller reorder what it picked, with the request at hand', () => {
    const hosts = [host('a', { memoryMb: res(1024) }), host('b', { memoryMb: res(2048) }), host('c', { memoryMb: res(4096) })];
    const seen: string[][] = [];
    const { ordered } = selectHosts(hosts, spec({ resources: { ramMb: 512 } }), {
      filters: [],
      weighers: weighersFromMultipliers({ cpu: 0, disk: 0 }),
      hostSubsetSize: 2,
      random: () => 0.75,
      // As a scheduler does with the hosts it is claiming on: moved last, nothing dropped.
      reorder: (picked, s) => {
        seen.push([...names(picked), String(s.resources.ramMb)]);
        return [...picked.filter((h) => h.host !== 'b'), ...picked.filter((h) => h.host === 'b')];
      },
    });
    expect(seen).toEqual([['b', 'c', 'a', '512']]);
    expect(names(ordered)).toEqual(['c', 'a', 'b']);
  });

  it('answers nothing ordered when nothing passes', () => {
    const { ordered } = selectHosts([host('a', { serviceUp: false })], spec(), { filters: filtersByName(['Compute']), weighers: weighersFromMultipliers() });
    expect(ordered).toEqual([]);
  });
});
