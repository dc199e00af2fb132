import { describe, expect, it } from 'vitest';
import { capacity, defaultFilterNames, defaultFilterSettings, filtersByName, knownFilterNames, runFilters, type HostFilter } from '../src/index.ts';
import { host, names, res, spec } from './scheduler-fixtures.ts';

describe('capacity', () => {
  it('applies the reservation before the ratio, rounds down, and subtracts what is used', () => {
    expect(capacity(res(16, { allocationRatio: 4 }))).toBe(64);
    expect(capacity(res(4096, { reserved: 512 }))).toBe(3584);
    expect(capacity(res(4096, { reserved: 512, used: 3584 }))).toBe(0);
    expect(capacity(res(10, { reserved: 1, allocationRatio: 1.5 }))).toBe(13); // 13.5 rounded down
    expect(capacity(res(8, { used: 10, allocationRatio: 1 }))).toBe(-2); // over-committed after a ratio change
  });
});

describe('filtersByName', () => {
  it('makes the filters named, in the order given', () => {
    expect(filtersByName(['RAM', 'Compute']).map((f) => f.name)).toEqual(['RAM', 'Compute']);
  });

  it('knows every filter, and leaves NumInstances out of the defaults as Nova does', () => {
    expect(filtersByName(knownFilterNames).map((f) => f.name)).toEqual([...knownFilterNames]);
    expect(defaultFilterNames).toEqual([
      'Retry',
      'AvailabilityZone',
      'Compute',
      'RAM',
      'CPU',
      'Disk',
      'ImageProperties',
      'AggregateInstanceExtraSpecs',
      'ServerGroupAntiAffinity',
      'ServerGroupAffinity',
      'SameHost',
      'DifferentHost',
    ]);
  });

  it('makes the filters that need a setting from it', () => {
    const [limit] = filtersByName(['NumInstances'], { ...defaultFilterSettings, maxInstancesPerHost: 2 });
    expect(limit!.check(host('a', { instances: 1 }), spec())).toEqual({ pass: true });
    expect(limit!.check(host('a', { instances: 2 }), spec())).toEqual({ pass: false, reason: 'has reached the limit of 2 instances per host' });
    expect(filtersByName(['NumInstances'])[0]!.check(host('a', { instances: 49 }), spec()).pass).toBe(true);
    expect(filtersByName(['NumInstances'])[0]!.check(host('a', { instances: 50 }), spec()).pass).toBe(false);
  });

  it('refuses a name it does not know, listing the ones it does', () => {
    expect(() => filtersByName(['Compute', 'RamFilter'])).toThrow(
      "Unknown scheduler filter 'RamFilter'; known filters are: AggregateInstanceExtraSpecs, AvailabilityZone, CPU, Compute, DifferentHost, Disk, ImageProperties, NumInstances, RAM, Retry, SameHost, ServerGroupAffinity, ServerGroupAntiAffinity",
    );
    expect(() => filtersByName(['toString'])).toThrow("Unknown scheduler filter 'toString'");
  });

  it('refuses a filter named twice', () => {
    expect(() => filtersByName(['RAM', 'Compute', 'RAM'])).toThrow("Scheduler filter 'RAM' is listed twice");
  });
});

describe('runFilters', () => {
  const filters = filtersByName(['Compute', 'RAM', 'ImageProperties']);

  it('keeps the hosts every filter passes and records who removed whom, in filter order', () => {
    const hosts = [host('ok-1'), host('off', { serviceDisabled: true, disabledReason: 'maintenance' }), host('small', { memoryMb: res(1024) }), host('ok-2')];
    const { passed, runs } = runFilters(hosts, spec({ resources: { ramMb: 2048 } }), filters);
    expect(names(passed)).toEqual(['ok-1', 'ok-2']);
    expect(runs).toEqual([
      { filter: 'Compute', entered: 4, removed: [{ host: 'off', reason: 'is disabled: maintenance' }] },
      { filter: 'RAM', entered: 3, removed: [{ host: 'small', reason: 'lacks 2048 MB of free RAM', free: 1024 }] },
      { filter: 'ImageProperties', entered: 2, removed: [] },
    ]);
  });

  it('counts a host once, at the first filter that refuses it', () => {
    const { runs } = runFilters([host('both', { serviceUp: false, memoryMb: res(256) })], spec({ resources: { ramMb: 2048 } }), filters);
    expect(runs.flatMap((r) => r.removed)).toEqual([{ host: 'both', reason: 'is down (no heartbeat)' }]);
  });

  it('answers every host when nothing is refused, without handing back its input', () => {
    const hosts = [host('a'), host('b')];
    const { passed } = runFilters(hosts, spec(), filters);
    expect(names(passed)).toEqual(['a', 'b']);
    expect(passed).not.toBe(hosts);
  });

  it('answers no hosts and empty runs for no hosts', () => {
    expect(runFilters([], spec(), filters)).toEqual({ passed: [], runs: filters.map((f) => ({ filter: f.name, entered: 0, removed: [] })) });
  });

  it('asks a filter only about the hosts the ones before it let through', () => {
    const asked: string[] = [];
    const spy: HostFilter = { name: 'Spy', check: (h) => (asked.push(h.host), { pass: true }) };
    runFilters([host('a', { serviceUp: false }), host('b')], spec(), [filters[0]!, spy]);
    expect(asked).toEqual(['b']);
  });
});
