import { describe, expect, it } from 'vitest';
import {
  buildFailureWeigher,
  cpuWeigher,
  defaultWeightMultipliers,
  diskWeigher,
  numInstancesWeigher,
  ramWeigher,
  serverGroupSoftAffinityWeigher,
  serverGroupSoftAntiAffinityWeigher,
  weighersFromMultipliers,
  weighHosts,
  type HostWeigher,
  type RequestSpec,
} from '../src/index.ts';
import { group, host, names, res, spec } from './scheduler-fixtures.ts';

const by = (weigher: HostWeigher, multiplier = 1) => [{ weigher, multiplier }];
const order = (hosts: ReturnType<typeof host>[], weigher: HostWeigher, multiplier = 1, s: RequestSpec = spec()) => names(weighHosts(hosts, s, by(weigher, multiplier)).map((w) => w.host));
const ram = (name: string, freeMb: number) => host(name, { memoryMb: res(freeMb) });

describe('weighHosts', () => {
  it('normalises each weigher to 0..1 over the hosts, then multiplies', () => {
    const weighed = weighHosts([ram('a', 1024), ram('b', 3072), ram('c', 2048)], spec(), by(ramWeigher, 2));
    expect(weighed.map((w) => [w.host.host, w.weight])).toEqual([
      ['b', 2],
      ['c', 1],
      ['a', 0],
    ]);
  });

  it('adds up the weighers', () => {
    const a = host('a', { memoryMb: res(8192), vcpu: res(2) });
    const b = host('b', { memoryMb: res(4096), vcpu: res(8) });
    const c = host('c', { memoryMb: res(6144), vcpu: res(5) });
    const weighed = weighHosts([a, b, c], spec(), [
      { weigher: ramWeigher, multiplier: 1 },
      { weigher: cpuWeigher, multiplier: 3 },
    ]);
    // a: 1 + 0, b: 0 + 3, c: 0.5 + 1.5
    expect(weighed.map((w) => [w.host.host, w.weight])).toEqual([
      ['b', 3],
      ['c', 2],
      ['a', 1],
    ]);
  });

  it('gives every host 0 from a weigher whose values are all equal', () => {
    expect(weighHosts([ram('a', 2048), ram('b', 2048)], spec(), by(ramWeigher, 5)).map((w) => w.weight)).toEqual([0, 0]);
  });

  it('turns the order round with a negative multiplier and ignores a weigher with 0', () => {
    const hosts = [ram('a', 1024), ram('b', 8192), ram('c', 4096)];
    expect(order(hosts, ramWeigher, -1)).toEqual(['a', 'c', 'b']);
    expect(order(hosts, ramWeigher, 0)).toEqual(['a', 'b', 'c']);
    const [a, c, b] = weighHosts(hosts, spec(), by(ramWeigher, -1)).map((w) => w.weight);
    expect(a).toBe(0);
    expect(c).toBeCloseTo(-3072 / 7168, 12);
    expect(b).toBeCloseTo(-1, 12);
  });

  it('breaks ties by host name, so the order is the same every time', () => {
    expect(order([ram('c', 2048), ram('a', 2048), ram('b', 2048)], ramWeigher)).toEqual(['a', 'b', 'c']);
    expect(order([ram('b', 4096), ram('c', 2048), ram('a', 4096)], ramWeigher)).toEqual(['a', 'b', 'c']);
  });

  it('answers zero or one host with weight 0 and leaves its input alone', () => {
    expect(weighHosts([], spec(), by(ramWeigher))).toEqual([]);
    const one = ram('a', 1);
    expect(weighHosts([one], spec(), by(ramWeigher))).toEqual([{ host: one, weight: 0 }]);
    const input = [ram('a', 1024), ram('b', 8192)];
    weighHosts(input, spec(), by(ramWeigher));
    expect(names(input)).toEqual(['a', 'b']);
  });
});

describe('resource weighers', () => {
  it('Ram prefers free RAM after reservation, ratio and use, not the raw total', () => {
    const big = host('big', { memoryMb: res(16384, { used: 15000 }) });
    const small = host('small', { memoryMb: res(4096, { allocationRatio: 1.5 }) });
    expect(order([big, small], ramWeigher)).toEqual(['small', 'big']);
  });

  it('Cpu prefers free vCPUs', () => {
    expect(order([host('a', { vcpu: res(8, { used: 6 }) }), host('b', { vcpu: res(4) })], cpuWeigher)).toEqual(['b', 'a']);
  });

  it('Disk prefers free disk', () => {
    expect(order([host('a', { diskGb: res(100) }), host('b', { diskGb: res(500, { used: 100 }) })], diskWeigher)).toEqual(['b', 'a']);
    expect(order([host('a', { diskGb: res(100) }), host('b', { diskGb: res(500, { used: 100 }) })], diskWeigher, -1)).toEqual(['a', 'b']);
  });
});

describe('NumInstances weigher', () => {
  const hosts = [host('a', { instances: 3 }), host('b', { instances: 10 }), host('c', { instances: 0 })];
  it('packs with a positive multiplier and spreads with a negative one; Nova leaves it at 0', () => {
    expect(order(hosts, numInstancesWeigher, 1)).toEqual(['b', 'a', 'c']);
    expect(order(hosts, numInstancesWeigher, -1)).toEqual(['c', 'a', 'b']);
    expect(defaultWeightMultipliers.numInstances).toBe(0);
  });
});

describe('server group weighers', () => {
  const hosts = [host('a'), host('b'), host('c')];
  const members = { b: 2, c: 1 };

  it('SoftAffinity prefers hosts with more members, for soft-affinity groups only', () => {
    expect(order(hosts, serverGroupSoftAffinityWeigher, 1, spec({ group: group('soft-affinity', members) }))).toEqual(['b', 'c', 'a']);
    expect(order(hosts, serverGroupSoftAffinityWeigher, 1, spec({ group: group('soft-anti-affinity', members) }))).toEqual(['a', 'b', 'c']);
    expect(order(hosts, serverGroupSoftAffinityWeigher, 1, spec())).toEqual(['a', 'b', 'c']);
  });

  it('SoftAntiAffinity prefers hosts with fewer members, for soft-anti-affinity groups only', () => {
    expect(order(hosts, serverGroupSoftAntiAffinityWeigher, 1, spec({ group: group('soft-anti-affinity', members) }))).toEqual(['a', 'c', 'b']);
    expect(order([host('b'), host('c')], serverGroupSoftAntiAffinityWeigher, 1, spec({ group: group('soft-affinity', members) }))).toEqual(['b', 'c']);
  });
});

describe('BuildFailure weigher', () => {
  it('puts hosts with recent failed builds last, outweighing free RAM at Nova’s multiplier', () => {
    const roomyButFailing = host('a', { memoryMb: res(262144), failedBuilds: 1 });
    const small = host('b', { memoryMb: res(4096) });
    const weighers = weighersFromMultipliers({ cpu: 0, disk: 0, softAffinity: 0, softAntiAffinity: 0 });
    expect(names(weighHosts([roomyButFailing, small], spec(), weighers).map((w) => w.host))).toEqual(['b', 'a']);
    expect(order([host('a', { failedBuilds: 5 }), host('b', { failedBuilds: 1 }), host('c')], buildFailureWeigher)).toEqual(['c', 'b', 'a']);
  });
});

describe('weighersFromMultipliers', () => {
  it('gives every weigher with Nova’s multipliers unless told otherwise', () => {
    expect(weighersFromMultipliers().map((w) => [w.weigher.name, w.multiplier])).toEqual([
      ['Ram', 1],
      ['Cpu', 1],
      ['Disk', 1],
      ['NumInstances', 0],
      ['ServerGroupSoftAffinity', 1],
      ['ServerGroupSoftAntiAffinity', 1],
      ['BuildFailure', 1_000_000],
    ]);
    const set = weighersFromMultipliers({ ram: -1, numInstances: 2 });
    expect(set.map((w) => w.multiplier)).toEqual([-1, 1, 1, 2, 1, 1, 1_000_000]);
  });

  it('stacks with ram -1 and num_instances 1 across the weighers together', () => {
    const hosts = [host('empty', { memoryMb: res(65536) }), host('busy', { memoryMb: res(65536, { used: 32768 }), instances: 10 })];
    const only = { cpu: 0, disk: 0 };
    expect(names(weighHosts(hosts, spec(), weighersFromMultipliers(only)).map((w) => w.host))).toEqual(['empty', 'busy']);
    expect(names(weighHosts(hosts, spec(), weighersFromMultipliers({ ...only, ram: -1, numInstances: 1 })).map((w) => w.host))).toEqual(['busy', 'empty']);
  });

  it('refuses a name it does not know, listing the ones it does, and a multiplier that is not a number', () => {
    expect(() => weighersFromMultipliers({ RAM: 1 } as never)).toThrow(
      "Unknown scheduler weigher 'RAM'; known weighers are: ram, cpu, disk, numInstances, softAffinity, softAntiAffinity, buildFailure",
    );
    expect(() => weighersFromMultipliers({ ram: Number.NaN })).toThrow('The ram weight multiplier must be a finite number, not NaN');
  });
});
