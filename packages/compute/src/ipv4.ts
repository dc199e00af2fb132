/**
 * IPv4 planning, pure: address arithmetic on unsigned 32-bit numbers, a subnet's plan (its gateway and
 * allocation range) checked before anything is written, and the order in which a free address is looked for.
 * The database side (packages/api, ipam.ts) writes ports with what these decide.
 */

/** What is wrong with an address or a subnet, in words a person who typed it understands. */
export class Ipv4Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Ipv4Error';
  }
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV4_ONLY = 'only IPv4 subnets are supported';

/** `a.b.c.d` → its number, or null; octets in decimal without leading zeros (010 is ambiguous). */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return null;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const maskOf = (prefix: number) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

export interface Ipv4Network {
  network: number;
  broadcast: number;
  prefix: number;
  cidr: string;
}

/** Parses `a.b.c.d/n`, refusing what is not a network address, with a suggestion of the one meant. */
export function parseCidr(text: string, field = 'cidr'): Ipv4Network {
  if (text.includes(':')) throw new Ipv4Error(`${field} ${text}: ${IPV4_ONLY}`);
  const [address, prefixText, ...rest] = text.split('/');
  const ip = parseIpv4(address ?? '');
  if (ip === null || prefixText === undefined || !/^\d{1,2}$/.test(prefixText) || rest.length > 0) {
    throw new Ipv4Error(`${field} ${text} is not an IPv4 network in CIDR notation, like 192.168.1.0/24`);
  }
  const prefix = Number(prefixText);
  if (prefix < 8 || prefix > 30) throw new Ipv4Error(`${field} ${text}: the prefix length must be between /8 and /30`);
  const mask = maskOf(prefix);
  const network = (ip & mask) >>> 0;
  if (network !== ip) throw new Ipv4Error(`${field} ${text} is not a network address; did you mean ${formatIpv4(network)}/${prefix}?`);
  return { network, broadcast: (network | ~mask) >>> 0, prefix, cidr: `${formatIpv4(network)}/${prefix}` };
}

function parseAddress(text: string, field: string): number {
  if (text.includes(':')) throw new Ipv4Error(`${field} ${text}: ${IPV4_ONLY}`);
  const ip = parseIpv4(text);
  if (ip === null) throw new Ipv4Error(`${field} ${text} is not an IPv4 address`);
  return ip;
}

/** An address that a host may hold in `net`: inside it, and neither its network nor its broadcast address. */
function hostAddress(text: string, field: string, net: Ipv4Network): number {
  const ip = parseAddress(text, field);
  if (ip < net.network || ip > net.broadcast) throw new Ipv4Error(`${field} ${text} is outside ${net.cidr}`);
  if (ip === net.network) throw new Ipv4Error(`${field} ${text} is the network address of ${net.cidr}`);
  if (ip === net.broadcast) throw new Ipv4Error(`${field} ${text} is the broadcast address of ${net.cidr}`);
  return ip;
}

export interface SubnetSpec {
  cidr: string;
  gateway?: string | undefined;
  allocationStart?: string | undefined;
  allocationEnd?: string | undefined;
  dnsServers?: readonly string[] | undefined;
  enableDhcp?: boolean | undefined;
}

export interface SubnetPlan {
  cidr: string;
  gateway: string;
  allocationStart: string;
  allocationEnd: string;
  dnsServers: string[];
  enableDhcp: boolean;
}

/**
 * Checks a subnet and fills in its defaults: the gateway is the first host; the allocation range is the
 * hosts on the larger side of the gateway (a range given at one end runs to the gateway or the last host).
 * Throws an Ipv4Error naming the field that is wrong.
 */
export function planSubnet(spec: SubnetSpec): SubnetPlan {
  const net = parseCidr(spec.cidr.trim());
  const first = net.network + 1;
  const last = net.broadcast - 1;
  const gateway = spec.gateway === undefined ? first : hostAddress(spec.gateway.trim(), 'gateway', net);
  const given = {
    start: spec.allocationStart === undefined ? undefined : hostAddress(spec.allocationStart.trim(), 'allocationStart', net),
    end: spec.allocationEnd === undefined ? undefined : hostAddress(spec.allocationEnd.trim(), 'allocationEnd', net),
  };
  let start: number;
  let end: number;
  if (given.start === undefined && given.end === undefined) {
    [start, end] = last - gateway >= gateway - first ? [gateway + 1, last] : [first, gateway - 1];
  } else {
    start = given.start ?? (given.end! > gateway ? gateway + 1 : first);
    end = given.end ?? (gateway > start ? gateway - 1 : last);
  }
  if (start > end) throw new Ipv4Error(`allocationStart ${formatIpv4(start)} is after allocationEnd ${formatIpv4(end)}`);
  if (gateway >= start && gateway <= end) {
    throw new Ipv4Error(
      `the allocation range ${formatIpv4(start)} to ${formatIpv4(end)} contains the gateway ${formatIpv4(gateway)}; start it after or end it before the gateway`,
    );
  }
  const dnsServers = (spec.dnsServers ?? []).map((d, i) => formatIpv4(parseAddress(d.trim(), `dnsServers[${i}]`)));
  return {
    cidr: net.cidr,
    gateway: formatIpv4(gateway),
    allocationStart: formatIpv4(start),
    allocationEnd: formatIpv4(end),
    dnsServers,
    enableDhcp: spec.enableDhcp ?? true,
  };
}

/**
 * One look for a free address in an allocation range: `draw`, a few addresses drawn at random (the first free
 * one taken); otherwise the first free address at or after `offset` (addresses from the range's start),
 * wrapping round to the start. Only a search that is not a draw can say the range is full.
 */
export interface AddressSearch {
  draw: boolean;
  offset: number;
}

/** Ranges larger than this draw addresses at random before searching for a gap. */
export const RANDOM_DRAW_ABOVE = 1024;
/** Draws a large range makes before it searches. */
const DRAWS = 3;
/** Searches for a gap before a range is taken to be full (each after a race lost to another build). */
const GAP_SEARCHES = 64;

/**
 * The looks for a free address in a range of `size` addresses, in order, until one finds it: a small range
 * gives the lowest free address first; a large one draws at random a few times first, where builds racing
 * for addresses rarely meet and no run of taken addresses is walked. After that (or a race lost), the first
 * free address from a random point of the range on, so that builds racing on one range stop picking the same
 * address. `random(n)` answers a whole number from 0 to n - 1.
 */
export function* addressSearches(size: number, random: (below: number) => number): Generator<AddressSearch, void, undefined> {
  const draws = size > RANDOM_DRAW_ABOVE ? DRAWS : 0;
  for (let attempt = 0; attempt < GAP_SEARCHES + draws; attempt++) {
    yield { draw: attempt < draws, offset: attempt === 0 && draws === 0 ? 0 : random(size) };
  }
}
