import { describe, expect, it } from 'vitest';
import { chosenGroups, chosenNetworks } from '../src/components/instances/launch-networks.ts';
import { draftProblems, emptyDraft, explainInput, hopLabel, pathText, quotedParts, afterVerdict } from '../src/components/networking/connectivity.ts';

describe('the Test connectivity form', () => {
  it('asks from the outside (the host, 192.168.122.1) to this server on tcp/22 unless told otherwise', () => {
    expect(explainInput('s1', emptyDraft())).toEqual({ from: { outside: true, ip: '192.168.122.1' }, to: { serverId: 's1' }, protocol: 'tcp', port: 22 });
  });

  it('puts this server at the end the direction says, with its network when one is picked', () => {
    const d = { ...emptyDraft(), direction: 'from' as const, other: 'server:s2', networkId: 'n2', protocol: 'icmp' as const };
    expect(explainInput('s1', d)).toEqual({ from: { serverId: 's1', networkId: 'n2' }, to: { serverId: 's2' }, protocol: 'icmp' });
    expect(explainInput('s1', { ...emptyDraft(), other: 'fip:192.168.122.50', port: ' 8080 ' })).toEqual({ from: { floatingIp: '192.168.122.50' }, to: { serverId: 's1' }, protocol: 'tcp', port: 8080 });
    // An empty address leaves the API its own default.
    expect(explainInput('s1', { ...emptyDraft(), direction: 'from', address: ' ' }).to).toEqual({ outside: true });
  });

  it('refuses a port that is not one and an address that is not IPv4, and needs no port for icmp', () => {
    expect(draftProblems(emptyDraft())).toEqual({});
    expect(draftProblems({ ...emptyDraft(), port: '70000' })).toEqual({ port: 'Port must be a whole number from 1 to 65535' });
    expect(draftProblems({ ...emptyDraft(), port: '' }).port).toBeDefined();
    expect(draftProblems({ ...emptyDraft(), protocol: 'icmp', port: '' })).toEqual({});
    expect(draftProblems({ ...emptyDraft(), address: '192.168.122' })).toEqual({ address: 'Type an IPv4 address, like 192.168.122.1' });
    expect(draftProblems({ ...emptyDraft(), other: 'server:s2', address: 'nonsense' })).toEqual({});
  });

  it("says the API's reason as a sentence, its quoted names apart", () => {
    expect(afterVerdict('no-route', 'no route: network back is not attached to any router')).toBe('network back is not attached to any router.');
    expect(afterVerdict('allowed', 'allowed: switch front → outside (8.8.8.8)')).toBe('switch front → outside (8.8.8.8)');
    expect(afterVerdict('dropped', 'dropped by security group `web` of server web-1: no ingress rule allows tcp/22')).toBe('by security group `web` of server web-1: no ingress rule allows tcp/22.');
    expect(afterVerdict('dropped', 'dropped: no egress rule of security group `web` of server web-1 allows tcp/80 to 8.8.8.8')).toBe('no egress rule of security group `web` of server web-1 allows tcp/80 to 8.8.8.8.');
    expect(quotedParts('dropped by security group `web` of server web-1')).toEqual([
      { text: 'dropped by security group ', code: false },
      { text: 'web', code: true },
      { text: ' of server web-1', code: false },
    ]);
  });

  it('draws the hops as a path', () => {
    const hops = [
      { kind: 'switch' as const, name: 'public', detail: 'external network public (192.168.122.0/24)' },
      { kind: 'nat' as const, name: 'floating IP 192.168.122.50', detail: 'floating IP 192.168.122.50 → 10.0.0.5 (server web-1)' },
      { kind: 'router' as const, name: 'r1', detail: 'router r1' },
      { kind: 'switch' as const, name: 'front', detail: 'network front (10.0.0.0/24)' },
      { kind: 'acl' as const, name: 'server web-1', detail: 'no ingress rule allows tcp/22: dropped' },
    ];
    expect(pathText(hops)).toBe('network public → floating IP 192.168.122.50 → router r1 → network front → server web-1: dropped');
    expect(hopLabel({ kind: 'acl', name: 'web', detail: 'an ingress rule of security group web allows tcp/22 (server web-1)' })).toBe('security group web');
    expect(hopLabel({ kind: 'nat', name: 'SNAT', detail: 'SNAT to 192.168.122.201' })).toBe('SNAT to 192.168.122.201');
  });
});

describe('the Launch dialog', () => {
  const groups = [
    { id: 'g1', name: 'web' },
    { id: 'g0', name: 'default' },
  ];
  it("ticks the project's default group until the user picks", () => {
    expect(chosenGroups({ securityGroupIds: null }, groups)).toEqual(['g0']);
    expect(chosenGroups({ securityGroupIds: ['g1'] }, groups)).toEqual(['g1']);
    expect(chosenGroups({ securityGroupIds: [] }, groups)).toEqual([]);
  });
  it('asks for the picked network first, then the further ones, each once; none for auto', () => {
    expect(chosenNetworks({ networkId: 'auto', moreNetworkIds: ['n2'] })).toBeNull();
    expect(chosenNetworks({ networkId: 'n1', moreNetworkIds: ['n2', 'n1', 'n3'] })).toEqual(['n1', 'n2', 'n3']);
  });
});
