import { describe, expect, it } from 'vitest';
import { hostSize, hostZone } from '../src/bench/fleet.ts';
import { benchFlavors, GROUP_SIZE, plan } from '../src/bench/scheduler-plan.ts';

const servers = (p: ReturnType<typeof plan>) => p.clients.flat().reduce((n, r) => n + r.count, 0);

describe('bench:scheduler plan', () => {
  it('asks for exactly the servers wanted, with the multi-create share', () => {
    const p = plan({ servers: 10_000, clients: 20, projects: 10, groups: true, zones: true, multiShare: 0.5, multiCount: 10 });
    expect(servers(p)).toBe(10_000);
    expect(p.groups).toHaveLength(200);
    expect(p.multiCreates).toBe(450);
    expect(p.clients.flat().filter((r) => r.count === 10)).toHaveLength(450);
    expect(p.creates).toBe(p.clients.flat().length);
  });

  it('puts 10% of servers in groups of 5, each member on a client of the group project, split between two clients', () => {
    const p = plan({ servers: 1000, clients: 20, projects: 10, groups: true, zones: false, multiShare: 0, multiCount: 10 });
    const members = new Map<number, number[]>();
    p.clients.forEach((list, c) => {
      for (const r of list) if (r.group !== null) members.set(r.group, [...(members.get(r.group) ?? []), c]);
    });
    expect([...members.values()].flat()).toHaveLength(100);
    for (const [g, clients] of members) {
      expect(clients).toHaveLength(GROUP_SIZE);
      expect(new Set(clients.map((c) => c % 10))).toEqual(new Set([p.groups[g]!.project]));
      expect(new Set(clients).size).toBe(2);
    }
    expect(p.groups.filter((g) => g.maxServerPerHost === 2)).toHaveLength(2);
  });

  it('asks for zones only when the API has them, and then about 15% each', () => {
    const without = plan({ servers: 5000, clients: 20, projects: 10, groups: false, zones: false, multiShare: 0, multiCount: 10 });
    expect(without.clients.flat().every((r) => r.zone === null && r.group === null)).toBe(true);
    const withZones = plan({ servers: 5000, clients: 20, projects: 10, groups: false, zones: true, multiShare: 0, multiCount: 10 });
    const az1 = withZones.clients.flat().filter((r) => r.zone === 'az1').length;
    expect(az1).toBeGreaterThan(600);
    expect(az1).toBeLessThan(900);
  });

  it('follows the flavor shares and is the same from one run to the next', () => {
    const a = plan({ servers: 5000, clients: 20, projects: 10, groups: true, zones: true, multiShare: 0, multiCount: 10 });
    const b = plan({ servers: 5000, clients: 20, projects: 10, groups: true, zones: true, multiShare: 0, multiCount: 10 });
    expect(a).toEqual(b);
    const big = a.clients.flat().filter((r) => benchFlavors[r.flavor]!.ramMb === 16_384).length;
    expect(big / a.creates).toBeGreaterThan(0.05);
    expect(big / a.creates).toBeLessThan(0.11);
  });

  it('refuses fewer clients than projects', () => {
    expect(() => plan({ servers: 10, clients: 5, projects: 10, groups: false, zones: false, multiShare: 0, multiCount: 10 })).toThrow(/5 clients cannot serve 10 projects/);
  });

  it('spreads every host size over both zones', () => {
    const seen = new Set(Array.from({ length: 8 }, (_, i) => `${hostSize(i).ramMb}-${hostZone(i)}`));
    expect(seen.size).toBe(8);
  });
});
