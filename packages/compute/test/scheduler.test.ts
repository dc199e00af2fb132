import { describe, expect, it } from 'vitest';
import {
  capacity,
  computeFilter,
  defaultFilters,
  explainNoValidHost,
  imagePropertiesFilter,
  resourcesFilter,
  runFilters,
  weighByRam,
  type HostResources,
  type HostState,
  type RequestSpec,
} from '../src/index.ts';

const res = (total: number, extra: Partial<HostResources> = {}): HostResources => ({ total, reserved: 0, allocationRatio: 1, used: 0, maxUnit: total, ...extra });

function host(name: string, o: Partial<Omit<HostState, 'host'>> = {}): HostState {
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
    hypervisorType: 'fake',
    arch: 'x86_64',
    ...o,
  };
}

function spec(resources: Partial<RequestSpec['resources']> = {}, image: Partial<RequestSpec['image']> = {}): RequestSpec {
  return {
    resources: { vcpus: 1, ramMb: 512, diskGb: 1, ...resources },
    image: { minRamMb: 0, minDiskGb: 0, properties: {}, ...image },
  };
}

describe('capacity', () => {
  it('applies the reservation before the ratio, rounds down, and subtracts what is used', () => {
    expect(capacity(res(16, { allocationRatio: 4 }))).toBe(64);
    expect(capacity(res(4096, { reserved: 512 }))).toBe(3584);
    expect(capacity(res(4096, { reserved: 512, used: 3584 }))).toBe(0);
    expect(capacity(res(10, { reserved: 1, allocationRatio: 1.5 }))).toBe(13); // 13.5 rounded down
    expect(capacity(res(8, { used: 10, allocationRatio: 1 }))).toBe(-2); // over-committed after a ratio change
  });
});

describe('computeFilter', () => {
  it('passes an enabled, heartbeating host', () => {
    expect(computeFilter.check(host('a'), spec())).toEqual({ pass: true });
  });

  it('refuses a disabled host with its reason, and a host without heartbeat', () => {
    expect(computeFilter.check(host('a', { serviceDisabled: true, disabledReason: 'maintenance' }), spec())).toEqual({ pass: false, reason: 'is disabled: maintenance' });
    expect(computeFilter.check(host('a', { serviceDisabled: true }), spec())).toEqual({ pass: false, reason: 'is disabled' });
    expect(computeFilter.check(host('a', { serviceUp: false }), spec())).toEqual({ pass: false, reason: 'is down (no heartbeat)' });
  });

  it('names the disabled state first when a host is both down and disabled', () => {
    expect(computeFilter.check(host('a', { serviceUp: false, serviceDisabled: true, disabledReason: 'rack move' }), spec())).toEqual({
      pass: false,
      reason: 'is disabled: rack move',
    });
  });
});

describe('resourcesFilter', () => {
  it('passes a request that fits exactly', () => {
    const h = host('a', { memoryMb: res(4096, { reserved: 512 }), vcpu: res(1), diskGb: res(20) });
    expect(resourcesFilter.check(h, spec({ ramMb: 3584, vcpus: 1, diskGb: 20 }))).toEqual({ pass: true });
  });

  it('says every resource that is short, in the order RAM, vCPU, disk', () => {
    const h = host('a', { memoryMb: res(4096, { reserved: 512 }), vcpu: res(2, { used: 1 }), diskGb: res(20, { used: 15 }) });
    expect(resourcesFilter.check(h, spec({ ramMb: 8192 }))).toEqual({ pass: false, reason: 'lacked 8192 MB of free RAM' });
    expect(resourcesFilter.check(h, spec({ ramMb: 8192, vcpus: 2, diskGb: 10 }))).toEqual({
      pass: false,
      reason: 'lacked 8192 MB of free RAM and 2 free vCPUs and 10 GB of free disk',
    });
    expect(resourcesFilter.check(host('b', { vcpu: res(1, { used: 1 }) }), spec({ vcpus: 1 }))).toEqual({ pass: false, reason: 'lacked 1 free vCPU' });
  });

  it('ignores disk for a flavor without a root disk', () => {
    expect(resourcesFilter.check(host('a', { diskGb: res(0) }), spec({ diskGb: 0 }))).toEqual({ pass: true });
  });

  it('refuses more than a single instance may have, even when the ratio leaves room', () => {
    // 4 cores at ratio 4 give 16 vCPUs in all, but one instance gets at most the 4 real ones.
    const h = host('a', { vcpu: res(4, { allocationRatio: 4 }) });
    expect(resourcesFilter.check(h, spec({ vcpus: 4 }))).toEqual({ pass: true });
    expect(resourcesFilter.check(h, spec({ vcpus: 8 }))).toEqual({ pass: false, reason: 'cannot give that much to a single instance (max unit)' });
  });
});

describe('imagePropertiesFilter', () => {
  it('compares the image minimums with what the host has in total, not what is free', () => {
    const h = host('a', { memoryMb: res(4096, { used: 4000 }), diskGb: res(100, { used: 99 }) });
    expect(imagePropertiesFilter.check(h, spec({}, { minRamMb: 4096, minDiskGb: 100 }))).toEqual({ pass: true });
    expect(imagePropertiesFilter.check(h, spec({}, { minRamMb: 8192 }))).toEqual({ pass: false, reason: "has less than the image's minimum of 8192 MB RAM in total" });
    expect(imagePropertiesFilter.check(h, spec({}, { minDiskGb: 200 }))).toEqual({ pass: false, reason: "has less than the image's minimum of 200 GB disk in total" });
  });

  it('matches the hypervisor type and architecture under either property name', () => {
    const h = host('a', { hypervisorType: 'kvm', arch: 'x86_64' });
    expect(imagePropertiesFilter.check(h, spec({}, { properties: { hypervisor_type: 'kvm', hw_architecture: 'x86_64' } }))).toEqual({ pass: true });
    expect(imagePropertiesFilter.check(h, spec({}, { properties: { img_hv_type: 'qemu' } }))).toEqual({ pass: false, reason: 'runs kvm, the image asks for qemu' });
    expect(imagePropertiesFilter.check(h, spec({}, { properties: { architecture: 'aarch64' } }))).toEqual({ pass: false, reason: 'is x86_64, the image asks for aarch64' });
    expect(imagePropertiesFilter.check(h, spec({}, { properties: { os_distro: 'debian' } }))).toEqual({ pass: true });
  });
});

describe('runFilters', () => {
  it('keeps the hosts every filter passes and records who removed whom, in filter order', () => {
    const hosts = [host('ok-1'), host('off', { serviceDisabled: true, disabledReason: 'maintenance' }), host('small', { memoryMb: res(1024) }), host('ok-2')];
    const { passed, runs } = runFilters(hosts, spec({ ramMb: 2048 }));
    expect(passed.map((h) => h.host)).toEqual(['ok-1', 'ok-2']);
    expect(runs).toEqual([
      { filter: 'Compute', entered: 4, removed: [{ host: 'off', reason: 'is disabled: maintenance' }] },
      { filter: 'Resources', entered: 3, removed: [{ host: 'small', reason: 'lacked 2048 MB of free RAM' }] },
      { filter: 'ImageProperties', entered: 2, removed: [] },
    ]);
    expect(defaultFilters.map((f) => f.name)).toEqual(['Compute', 'Resources', 'ImageProperties']);
  });

  it('counts a host once, at the first filter that refuses it', () => {
    const { runs } = runFilters([host('both', { serviceUp: false, memoryMb: res(256) })], spec({ ramMb: 2048 }));
    expect(runs.flatMap((r) => r.removed)).toEqual([{ host: 'both', reason: 'is down (no heartbeat)' }]);
  });

  it('answers no hosts and empty runs for no hosts', () => {
    expect(runFilters([], spec())).toEqual({ passed: [], runs: defaultFilters.map((f) => ({ filter: f.name, entered: 0, removed: [] })) });
  });
});

describe('weighByRam', () => {
  const free = (name: string, freeMb: number) => host(name, { memoryMb: res(freeMb) });

  it('puts the host with the most free RAM first (spreading)', () => {
    const ordered = weighByRam([free('a', 1024), free('b', 8192), free('c', 4096)]);
    expect(ordered.map((h) => h.host)).toEqual(['b', 'c', 'a']);
  });

  it('counts reservations, ratios and use, not the raw total', () => {
    const big = host('big', { memoryMb: res(16384, { used: 15000 }) });
    const small = host('small', { memoryMb: res(4096, { allocationRatio: 1.5 }) });
    expect(weighByRam([big, small]).map((h) => h.host)).toEqual(['small', 'big']);
  });

  it('stacks with a negative multiplier (the fullest host first)', () => {
    expect(weighByRam([free('a', 1024), free('b', 8192), free('c', 4096)], -1).map((h) => h.host)).toEqual(['a', 'c', 'b']);
  });

  it('breaks ties by name, so the order is stable', () => {
    expect(weighByRam([free('c', 2048), free('a', 2048), free('b', 2048)]).map((h) => h.host)).toEqual(['a', 'b', 'c']);
    expect(weighByRam([free('b', 4096), free('c', 2048), free('a', 4096)]).map((h) => h.host)).toEqual(['a', 'b', 'c']);
  });

  it('leaves zero or one host alone and does not reorder its input', () => {
    expect(weighByRam([])).toEqual([]);
    const one = [free('a', 1)];
    expect(weighByRam(one)).toEqual(one);
    const input = [free('a', 1024), free('b', 8192)];
    weighByRam(input);
    expect(input.map((h) => h.host)).toEqual(['a', 'b']);
  });
});

describe('explainNoValidHost', () => {
  const explain = (hosts: HostState[], s: RequestSpec, hostNames = false) => explainNoValidHost(runFilters(hosts, s).runs, hosts.length, { hostNames });
  const small = (name: string) => host(name, { memoryMb: res(4096, { reserved: 512 }) });

  it('groups hosts by reason, counts them, and names the number with the right word', () => {
    const hosts = [small('h1'), small('h2'), host('h3', { serviceDisabled: true, disabledReason: 'maintenance' })];
    expect(explain(hosts, spec({ ramMb: 8192 }))).toBe('No valid host: 1 host is disabled: maintenance; 2 hosts lacked 8192 MB of free RAM');
    expect(explain([small('h1')], spec({ ramMb: 8192 }))).toBe('No valid host: 1 host lacked 8192 MB of free RAM');
  });

  it('says "are" and "have" for several hosts and "is" and "has" for one', () => {
    const down = (name: string) => host(name, { serviceUp: false });
    expect(explain([down('d1'), down('d2')], spec())).toBe('No valid host: 2 hosts are down (no heartbeat)');
    expect(explain([down('d1')], spec())).toBe('No valid host: 1 host is down (no heartbeat)');
    const off = (name: string) => host(name, { serviceDisabled: true, disabledReason: 'maintenance' });
    expect(explain([off('o1'), off('o2'), off('o3')], spec())).toBe('No valid host: 3 hosts are disabled: maintenance');
    const tiny = (name: string) => host(name, { memoryMb: res(1024) });
    expect(explain([tiny('t1'), tiny('t2')], spec({ ramMb: 512 }, { minRamMb: 2048 }))).toBe("No valid host: 2 hosts have less than the image's minimum of 2048 MB RAM in total");
    expect(explain([tiny('t1')], spec({ ramMb: 512 }, { minRamMb: 2048 }))).toBe("No valid host: 1 host has less than the image's minimum of 2048 MB RAM in total");
  });

  it('agrees the verb of other reasons with the number of hosts too', () => {
    const kvm = (name: string) => host(name, { hypervisorType: 'kvm' });
    expect(explain([kvm('k1'), kvm('k2')], spec({}, { properties: { hypervisor_type: 'qemu' } }))).toBe('No valid host: 2 hosts run kvm, the image asks for qemu');
    expect(explain([kvm('k1')], spec({}, { properties: { hypervisor_type: 'qemu' } }))).toBe('No valid host: 1 host runs kvm, the image asks for qemu');
    expect(explain([host('x1'), host('x2')], spec({}, { properties: { architecture: 'aarch64' } }))).toBe('No valid host: 2 hosts are x86_64, the image asks for aarch64');
  });

  it('keeps different disabled reasons apart', () => {
    const hosts = [
      host('a', { serviceDisabled: true, disabledReason: 'maintenance' }),
      host('b', { serviceDisabled: true, disabledReason: 'broken fan' }),
      host('c', { serviceDisabled: true, disabledReason: 'maintenance' }),
    ];
    expect(explain(hosts, spec())).toBe('No valid host: 2 hosts are disabled: maintenance; 1 host is disabled: broken fan');
  });

  it('names the hosts of each group for administrators, and only then', () => {
    const hosts = [small('h1'), small('h2'), host('h3', { serviceDisabled: true, disabledReason: 'maintenance' })];
    expect(explain(hosts, spec({ ramMb: 8192 }), true)).toBe('No valid host: 1 host is disabled: maintenance (h3); 2 hosts lacked 8192 MB of free RAM (h1, h2)');
    const tenant = explain(hosts, spec({ ramMb: 8192 }));
    for (const name of ['h1', 'h2', 'h3']) expect(tenant).not.toContain(name);
  });

  it('says when no host is registered at all', () => {
    expect(explainNoValidHost([], 0)).toBe('No valid host: no compute host is registered');
    expect(explainNoValidHost(runFilters([], spec()).runs, 0, { hostNames: true })).toBe('No valid host: no compute host is registered');
  });

  it('says the hosts could not be claimed when every filter passed them (others took the room)', () => {
    expect(explain([host('a'), host('b')], spec())).toBe('No valid host: none of 2 hosts could be claimed');
    expect(explain([host('a')], spec())).toBe('No valid host: the only host could not be claimed');
  });
});
