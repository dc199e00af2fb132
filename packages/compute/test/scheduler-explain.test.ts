import { describe, expect, it } from 'vitest';
import {
  describeExplanation,
  explain,
  explanationParts,
  filtersByName,
  knownFilterNames,
  pluralReason,
  redactExplanation,
  runFilters,
  type HostState,
  type RequestSpec,
} from '../src/index.ts';
import { group, host, res, spec } from './scheduler-fixtures.ts';

const explainAll = (hosts: HostState[], s: RequestSpec, names: string[] = ['AvailabilityZone', 'Compute', 'ServerGroupAntiAffinity', 'RAM']) =>
  explain(runFilters(hosts, s, filtersByName(names)).runs, hosts.length);
const tenant = (hosts: HostState[], s: RequestSpec, names?: string[]) => describeExplanation(redactExplanation(explainAll(hosts, s, names)));
const admin = (hosts: HostState[], s: RequestSpec, names?: string[]) => describeExplanation(explainAll(hosts, s, names));

// Five hosts: three in another zone, two running a member of the anti-affinity group, and … see each test.
const fleet = () => [
  host('h1', { availabilityZone: 'az1' }),
  host('h2', { availabilityZone: 'az2', memoryMb: res(4096) }),
  host('h3', { availabilityZone: 'az1' }),
  host('h4', { availabilityZone: 'az2' }),
  host('h5', { availabilityZone: 'az1' }),
];
const webRequest = () => spec({ availabilityZone: 'az2', group: group('anti-affinity', { h4: 1 }), resources: { ramMb: 8192 } });

describe('explain', () => {
  it('groups reasons per filter, in filter order, with counts, host names and the most free', () => {
    const e = explainAll(fleet(), webRequest());
    expect(e).toEqual({
      hosts: 5,
      filters: [
        { filter: 'AvailabilityZone', entered: 5, removed: 3, reasons: [{ reason: 'is not in zone az2', count: 3, hosts: ['h1', 'h3', 'h5'] }] },
        { filter: 'Compute', entered: 2, removed: 0, reasons: [] },
        { filter: 'ServerGroupAntiAffinity', entered: 2, removed: 1, reasons: [{ reason: 'already runs a member of group web', count: 1, hosts: ['h4'] }] },
        { filter: 'RAM', entered: 1, removed: 1, reasons: [{ reason: 'lacks 8192 MB of free RAM', count: 1, hosts: ['h2'], mostFree: 4096 }] },
      ],
    });
  });

  it('puts the most common reason of a filter first, and keeps the largest free amount of a group', () => {
    const hosts = [
      host('a', { serviceDisabled: true, disabledReason: 'broken fan' }),
      host('b', { serviceDisabled: true, disabledReason: 'maintenance' }),
      host('c', { serviceDisabled: true, disabledReason: 'maintenance' }),
      host('d', { memoryMb: res(2048) }),
      host('e', { memoryMb: res(6144) }),
    ];
    const e = explainAll(hosts, spec({ resources: { ramMb: 8192 } }), ['Compute', 'RAM']);
    expect(e.filters[0]!.reasons.map((r) => [r.reason, r.count])).toEqual([
      ['is disabled: maintenance', 2],
      ['is disabled: broken fan', 1],
    ]);
    expect(e.filters[1]!.reasons).toEqual([{ reason: 'lacks 8192 MB of free RAM', count: 2, hosts: ['d', 'e'], mostFree: 6144 }]);
  });

  it('keeps a bounded number of names per reason but the exact count', () => {
    const hosts = Array.from({ length: 30 }, (_, i) => host(`h${i}`, { serviceUp: false }));
    const e = explain(runFilters(hosts, spec(), filtersByName(['Compute'])).runs, 30, { maxHostNames: 5 });
    expect(e.filters[0]!.reasons[0]).toEqual({ reason: 'is down (no heartbeat)', count: 30, hosts: ['h0', 'h1', 'h2', 'h3', 'h4'] });
    expect(describeExplanation(e)).toBe('No valid host: Compute: 30 hosts (h0, h1, h2, h3, h4 and 25 more) are down (no heartbeat)');
  });

  it('counts the hosts that passed every filter as lost claims, unless told the number', () => {
    const runs = runFilters([host('a'), host('b', { serviceUp: false })], spec(), filtersByName(['Compute'])).runs;
    expect(explain(runs, 2).claimsLost).toBe(1);
    expect(explain(runs, 2, { claimsLost: 0 }).claimsLost).toBeUndefined();
    expect(explain([], 3).claimsLost).toBe(3);
  });
});

describe('describeExplanation', () => {
  it('says per filter how many hosts each reason removed, for the tenant without names', () => {
    expect(tenant(fleet(), webRequest())).toBe(
      'No valid host: AvailabilityZone: 3 of 5 hosts are not in zone az2; ServerGroupAntiAffinity: 1 of 2 hosts already runs a member of group web; RAM: 1 host lacks 8192 MB of free RAM, it has 4096 MB free',
    );
  });

  it('names the hosts of each reason for administrators', () => {
    expect(admin(fleet(), webRequest())).toBe(
      'No valid host: AvailabilityZone: 3 of 5 hosts (h1, h3, h5) are not in zone az2; ServerGroupAntiAffinity: 1 of 2 hosts (h4) already runs a member of group web; RAM: 1 host (h2) lacks 8192 MB of free RAM, it has 4096 MB free',
    );
  });

  it('agrees the verb with the number of hosts', () => {
    const down = (name: string) => host(name, { serviceUp: false });
    expect(tenant([down('a'), down('b')], spec(), ['Compute'])).toBe('No valid host: Compute: 2 hosts are down (no heartbeat)');
    expect(tenant([down('a')], spec(), ['Compute'])).toBe('No valid host: Compute: 1 host is down (no heartbeat)');
    const small = (name: string, mb: number) => host(name, { memoryMb: res(mb) });
    expect(tenant([small('a', 1024), small('b', 4096)], spec({ resources: { ramMb: 8192 } }), ['RAM'])).toBe(
      'No valid host: RAM: 2 hosts lack 8192 MB of free RAM, they have at most 4096 MB free',
    );
    const member = spec({ group: group('anti-affinity', { a: 1, b: 1 }) });
    expect(tenant([host('a'), host('b')], member, ['ServerGroupAntiAffinity'])).toBe('No valid host: ServerGroupAntiAffinity: 2 hosts already run a member of group web');
  });

  it('says vCPUs and GB for what CPU and Disk found short', () => {
    const h = host('a', { vcpu: res(2, { used: 1 }), diskGb: res(10) });
    expect(tenant([h], spec({ resources: { vcpus: 4 } }), ['CPU'])).toBe('No valid host: CPU: 1 host lacks 4 free vCPUs, it has 1 vCPU free');
    expect(tenant([h], spec({ resources: { diskGb: 20 } }), ['Disk'])).toBe('No valid host: Disk: 1 host lacks 20 GB of free disk, it has 10 GB free');
  });

  it('joins several reasons of one filter', () => {
    const hosts = [host('a', { serviceDisabled: true, disabledReason: 'maintenance' }), host('b', { serviceUp: false }), host('c', { serviceUp: false })];
    expect(tenant(hosts, spec(), ['Compute'])).toBe('No valid host: Compute: 2 of 3 hosts are down (no heartbeat); 1 of 3 hosts is disabled: maintenance');
  });

  it('says when no compute host is registered', () => {
    expect(describeExplanation(explain([], 0))).toBe('No valid host: no compute host is registered');
    expect(describeExplanation(explain(runFilters([], spec(), filtersByName(['Compute'])).runs, 0))).toBe('No valid host: no compute host is registered');
  });

  it('says the hosts could not be claimed when every filter passed them', () => {
    const ok = (hosts: HostState[]) => tenant(hosts, spec(), ['Compute']);
    expect(ok([host('a'), host('b')])).toBe('No valid host: none of 2 hosts could be claimed (other builds took the room first)');
    expect(ok([host('a')])).toBe('No valid host: the only host could not be claimed (another build took the room first)');
    expect(ok([host('a'), host('b', { serviceUp: false })])).toBe(
      'No valid host: Compute: 1 of 2 hosts is down (no heartbeat); 1 host passed every filter but could not be claimed (other builds took the room first)',
    );
  });

  it('gives the same phrases as a list for a console', () => {
    expect(explanationParts(redactExplanation(explainAll(fleet(), webRequest())))).toEqual([
      'AvailabilityZone: 3 of 5 hosts are not in zone az2',
      'ServerGroupAntiAffinity: 1 of 2 hosts already runs a member of group web',
      'RAM: 1 host lacks 8192 MB of free RAM, it has 4096 MB free',
    ]);
  });
});

describe('redactExplanation', () => {
  it('drops every host name and keeps the rest', () => {
    const e = explainAll(fleet(), webRequest());
    const r = redactExplanation(e);
    expect(JSON.stringify(r)).not.toMatch(/h[1-5]/);
    expect(r.filters.map((f) => f.reasons.map((x) => x.count))).toEqual(e.filters.map((f) => f.reasons.map((x) => x.count)));
    expect(r.filters[3]!.reasons[0]).toEqual({ reason: 'lacks 8192 MB of free RAM', count: 1, mostFree: 4096 });
    expect(JSON.stringify(e)).toMatch(/h1/); // the admin's copy is left as it was
  });
});

describe('pluralReason', () => {
  it('turns the verb of a one-host reason plural, past an adverb', () => {
    expect(pluralReason('is not in zone az2')).toBe('are not in zone az2');
    expect(pluralReason('has less than the image’s minimum')).toBe('have less than the image’s minimum');
    expect(pluralReason('already runs a member of group web')).toBe('already run a member of group web');
    expect(pluralReason('was already tried for this build')).toBe('were already tried for this build');
    expect(pluralReason('does not run the servers of the same_host hint')).toBe('do not run the servers of the same_host hint');
    expect(pluralReason('can give one instance at most 4 vCPUs')).toBe('can give one instance at most 4 vCPUs');
  });

  it('changes the verb of every reason each filter gives', () => {
    const fail = host('x', {
      serviceDisabled: true,
      memoryMb: res(1024, { maxUnit: 512 }),
      vcpu: res(1, { maxUnit: 1 }),
      diskGb: res(1, { maxUnit: 1 }),
      availabilityZone: 'az1',
      instances: 100,
      hypervisorType: 'qemu',
    });
    const s = spec({
      resources: { vcpus: 2, ramMb: 2048, diskGb: 2 },
      image: { minRamMb: 0, minDiskGb: 0, properties: { img_hv_type: 'kvm' } },
      flavorExtraSpecs: { ssd: 'true' },
      availabilityZone: 'az2',
      group: group('anti-affinity', { x: 1 }),
      hints: { sameHost: ['y'], differentHost: ['x'] },
      ignoreHosts: ['x'],
    });
    const reasons = filtersByName(knownFilterNames.filter((n) => n !== 'ServerGroupAffinity')).map((f) => f.check(fail, s));
    for (const result of reasons) {
      expect(result.pass).toBe(false);
      if (!result.pass && !result.reason.startsWith('can ')) expect(pluralReason(result.reason)).not.toBe(result.reason);
    }
    const affinity = filtersByName(['ServerGroupAffinity'])[0]!.check(fail, spec({ group: group('affinity', { y: 1 }) }));
    expect(affinity.pass || pluralReason(affinity.reason)).toBe('do not run the other members of group web');
  });
});
