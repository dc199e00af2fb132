import { describe, expect, it } from 'vitest';
import { addressSearches, formatIpv4, Ipv4Error, parseCidr, parseIpv4, planSubnet, RANDOM_DRAW_ABOVE, seededRandom } from '../src/index.ts';

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(Ipv4Error);
    return (error as Ipv4Error).message;
  }
  throw new Error('expected the subnet to be refused');
}

describe('IPv4 arithmetic and subnet plans', () => {
  it('parses and formats addresses strictly', () => {
    expect(parseIpv4('192.168.1.10')).toBe(0xc0a8010a);
    expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
    expect(formatIpv4(parseIpv4('10.0.0.1')!)).toBe('10.0.0.1');
    for (const bad of ['10.0.0', '10.0.0.256', '10.0.0.01', '10.0.0.1.2', ' 10.0.0.1', 'a.b.c.d', '']) expect(parseIpv4(bad)).toBeNull();
  });

  it('fills in the gateway and the allocation range', () => {
    expect(planSubnet({ cidr: '10.0.0.0/24' })).toEqual({
      cidr: '10.0.0.0/24',
      gateway: '10.0.0.1',
      allocationStart: '10.0.0.2',
      allocationEnd: '10.0.0.254',
      dnsServers: [],
      enableDhcp: true,
    });
    // A gateway at the top leaves the hosts below it.
    expect(planSubnet({ cidr: '10.0.0.0/24', gateway: '10.0.0.254' })).toMatchObject({ allocationStart: '10.0.0.1', allocationEnd: '10.0.0.253' });
    // One end given: the other runs to the gateway or the last host.
    expect(planSubnet({ cidr: '10.0.0.0/24', allocationStart: '10.0.0.100' })).toMatchObject({ allocationEnd: '10.0.0.254' });
    expect(planSubnet({ cidr: '10.0.0.0/24', gateway: '10.0.0.200', allocationStart: '10.0.0.100' })).toMatchObject({ allocationEnd: '10.0.0.199' });
    expect(planSubnet({ cidr: '10.0.0.0/24', allocationEnd: '10.0.0.50' })).toMatchObject({ allocationStart: '10.0.0.2' });
    expect(planSubnet({ cidr: '10.0.0.0/30' })).toMatchObject({ gateway: '10.0.0.1', allocationStart: '10.0.0.2', allocationEnd: '10.0.0.2' });
    expect(planSubnet({ cidr: ' 10.0.0.0/8 ', dnsServers: ['1.1.1.1', '8.8.8.8'], enableDhcp: false })).toMatchObject({
      cidr: '10.0.0.0/8',
      allocationEnd: '10.255.255.254',
      dnsServers: ['1.1.1.1', '8.8.8.8'],
      enableDhcp: false,
    });
  });

  it('says what is wrong with a CIDR', () => {
    expect(refused(() => parseCidr('192.168.1.5/24'))).toBe('cidr 192.168.1.5/24 is not a network address; did you mean 192.168.1.0/24?');
    expect(refused(() => parseCidr('fd00::/64'))).toBe('cidr fd00::/64: only IPv4 subnets are supported');
    expect(refused(() => parseCidr('10.0.0.0/31'))).toBe('cidr 10.0.0.0/31: the prefix length must be between /8 and /30');
    expect(refused(() => parseCidr('10.0.0.0/7'))).toMatch(/between \/8 and \/30/);
    for (const bad of ['10.0.0.0', '10.0.0/24', '10.0.0.0/x', '10.0.0.0/24/1', 'web']) {
      expect(refused(() => parseCidr(bad))).toBe(`cidr ${bad} is not an IPv4 network in CIDR notation, like 192.168.1.0/24`);
    }
    expect(parseCidr('172.16.0.0/12')).toEqual({ network: 0xac100000, broadcast: 0xac1fffff, prefix: 12, cidr: '172.16.0.0/12' });
  });

  it('says what is wrong with a gateway, a range or a DNS server', () => {
    const cidr = '10.0.0.0/24';
    expect(refused(() => planSubnet({ cidr, gateway: '10.0.1.1' }))).toBe('gateway 10.0.1.1 is outside 10.0.0.0/24');
    expect(refused(() => planSubnet({ cidr, gateway: '10.0.0.0' }))).toBe('gateway 10.0.0.0 is the network address of 10.0.0.0/24');
    expect(refused(() => planSubnet({ cidr, gateway: '10.0.0.255' }))).toBe('gateway 10.0.0.255 is the broadcast address of 10.0.0.0/24');
    expect(refused(() => planSubnet({ cidr, gateway: 'fd00::1' }))).toBe('gateway fd00::1: only IPv4 subnets are supported');
    expect(refused(() => planSubnet({ cidr, gateway: 'router' }))).toBe('gateway router is not an IPv4 address');
    expect(refused(() => planSubnet({ cidr, allocationStart: '10.0.2.1' }))).toBe('allocationStart 10.0.2.1 is outside 10.0.0.0/24');
    expect(refused(() => planSubnet({ cidr, allocationEnd: '10.0.0.255' }))).toBe('allocationEnd 10.0.0.255 is the broadcast address of 10.0.0.0/24');
    expect(refused(() => planSubnet({ cidr, allocationStart: '10.0.0.50', allocationEnd: '10.0.0.10' }))).toBe(
      'allocationStart 10.0.0.50 is after allocationEnd 10.0.0.10',
    );
    expect(refused(() => planSubnet({ cidr, allocationStart: '10.0.0.1', allocationEnd: '10.0.0.9' }))).toMatch(
      /^the allocation range 10.0.0.1 to 10.0.0.9 contains the gateway 10.0.0.1/,
    );
    expect(refused(() => planSubnet({ cidr, dnsServers: ['1.1.1.1', '8.8.8'] }))).toBe('dnsServers[1] 8.8.8 is not an IPv4 address');
  });
});

describe('addressSearches', () => {
  const random = (seed: number) => {
    const next = seededRandom(seed);
    return (below: number) => Math.floor(next() * below);
  };

  it('in a small range, looks from the lowest address first, then from random points, 64 times at most', () => {
    const searches = [...addressSearches(253, random(1))];
    expect(searches).toHaveLength(64);
    expect(searches[0]).toEqual({ draw: false, offset: 0 });
    expect(searches.every((s) => !s.draw && s.offset >= 0 && s.offset < 253)).toBe(true);
    expect(new Set(searches.map((s) => s.offset)).size).toBeGreaterThan(10);
  });

  it(`in a range of more than ${RANDOM_DRAW_ABOVE} addresses, draws three times before it searches`, () => {
    const searches = [...addressSearches(RANDOM_DRAW_ABOVE + 1, random(2))];
    expect(searches).toHaveLength(67);
    expect(searches.map((s) => s.draw).slice(0, 4)).toEqual([true, true, true, false]);
    expect(searches.slice(3).every((s) => !s.draw && s.offset < RANDOM_DRAW_ABOVE + 1)).toBe(true);
    // A range of exactly the limit is small.
    expect([...addressSearches(RANDOM_DRAW_ABOVE, random(3))][0]).toEqual({ draw: false, offset: 0 });
  });
});
