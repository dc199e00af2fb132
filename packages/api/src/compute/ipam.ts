import { randomBytes, randomInt } from 'node:crypto';
import { matchIds, type PoolClient, type Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';

// IPv4 address arithmetic on unsigned 32-bit numbers, and the subnet plan checked before anything is written.

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
  if (text.includes(':')) throw new AsterError('InvalidInput', `${field} ${text}: ${IPV4_ONLY}`);
  const [address, prefixText, ...rest] = text.split('/');
  const ip = parseIpv4(address ?? '');
  if (ip === null || prefixText === undefined || !/^\d{1,2}$/.test(prefixText) || rest.length > 0) {
    throw new AsterError('InvalidInput', `${field} ${text} is not an IPv4 network in CIDR notation, like 192.168.1.0/24`);
  }
  const prefix = Number(prefixText);
  if (prefix < 8 || prefix > 30) {
    throw new AsterError('InvalidInput', `${field} ${text}: the prefix length must be between /8 and /30`);
  }
  const mask = maskOf(prefix);
  const network = (ip & mask) >>> 0;
  if (network !== ip) {
    throw new AsterError('InvalidInput', `${field} ${text} is not a network address; did you mean ${formatIpv4(network)}/${prefix}?`);
  }
  return { network, broadcast: (network | ~mask) >>> 0, prefix, cidr: `${formatIpv4(network)}/${prefix}` };
}

function parseAddress(text: string, field: string): number {
  if (text.includes(':')) throw new AsterError('InvalidInput', `${field} ${text}: ${IPV4_ONLY}`);
  const ip = parseIpv4(text);
  if (ip === null) throw new AsterError('InvalidInput', `${field} ${text} is not an IPv4 address`);
  return ip;
}

/** An address that a host may hold in `net`: inside it, and neither its network nor its broadcast address. */
function hostAddress(text: string, field: string, net: Ipv4Network): number {
  const ip = parseAddress(text, field);
  if (ip < net.network || ip > net.broadcast) throw new AsterError('InvalidInput', `${field} ${text} is outside ${net.cidr}`);
  if (ip === net.network) throw new AsterError('InvalidInput', `${field} ${text} is the network address of ${net.cidr}`);
  if (ip === net.broadcast) throw new AsterError('InvalidInput', `${field} ${text} is the broadcast address of ${net.cidr}`);
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
  if (start > end) {
    throw new AsterError('InvalidInput', `allocationStart ${formatIpv4(start)} is after allocationEnd ${formatIpv4(end)}`);
  }
  if (gateway >= start && gateway <= end) {
    throw new AsterError(
      'InvalidInput',
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

/** One address of an instance on one network, with what a host needs to plug and configure it. */
export interface PortRow {
  id: string;
  networkId: string;
  networkName: string;
  subnetId: string;
  bridge: string | null;
  mac: string;
  ip: string;
  cidr: string;
  gateway: string | null;
  dnsServers: string[];
}

type PortDbRow = {
  id: string;
  network_id: string;
  network_name: string;
  subnet_id: string;
  instance_id: string;
  bridge: string | null;
  mac: string;
  ip: string;
  cidr: string;
  gateway: string | null;
  dns_servers: string[];
};
const SELECT_PORTS = `
  SELECT p.id, p.network_id, n.name AS network_name, p.subnet_id, p.instance_id, n.bridge, p.mac::text AS mac,
         host(p.ip) AS ip, s.cidr::text AS cidr, host(s.gateway) AS gateway,
         ARRAY(SELECT host(d.ip) FROM unnest(s.dns_servers) WITH ORDINALITY AS d(ip, i) ORDER BY d.i) AS dns_servers
    FROM ports p JOIN subnets s ON s.id = p.subnet_id JOIN networks n ON n.id = p.network_id`;
const toPort = (r: PortDbRow): PortRow => ({
  id: r.id,
  networkId: r.network_id,
  networkName: r.network_name,
  subnetId: r.subnet_id,
  bridge: r.bridge,
  mac: r.mac,
  ip: r.ip,
  cidr: r.cidr,
  gateway: r.gateway,
  dnsServers: r.dns_servers,
});

/** OpenStack's MAC prefix, so that operators recognise guest interfaces. */
export const macPrefix = 'fa:16:3e';
export function randomMac(): string {
  return [macPrefix, ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/**
 * Gives the instance one port on each network, inside the caller's transaction. Idempotent per
 * instance and network: a port the instance already has is answered again, so a build retried on
 * another host keeps its address. No lock is held across statements: each attempt picks a free address
 * and inserts it in one statement, and the unique (subnet_id, ip) and MAC constraints decide races (the
 * loser tries again), so builds on one network never queue behind each other. A network deleted meanwhile
 * fails the insert's foreign key and answers NotFound.
 */
export async function allocatePorts(client: PoolClient, instanceId: string, networkIds: string[]): Promise<PortRow[]> {
  return (await allocatePortsMany(client, [{ instanceId, networkIds }])).get(instanceId)!;
}

/**
 * `allocatePorts` for several instances (a request's, placed together), with one read of their networks: each
 * instance's ports in the order it asked for its networks, keyed as the caller spelled its id.
 */
export async function allocatePortsMany(client: PoolClient, wants: { instanceId: string; networkIds: string[] }[]): Promise<Map<string, PortRow[]>> {
  const result = new Map<string, PortRow[]>(wants.map((w) => [w.instanceId, []]));
  // Network by network in id order, so that two allocations waiting on each other's addresses cannot wait in a circle.
  const wanted = [...new Set(wants.flatMap((w) => w.networkIds.map((id) => id.toLowerCase())))].sort();
  if (wanted.length === 0) return result;
  // The networks, their subnets and any port the instances already have on them, in one read.
  const byNetwork = matchIds('n.id', wanted, 1);
  const byInstance = matchIds('p.instance_id', wants.map((w) => w.instanceId), 2);
  const { rows: networks } = await client.query<NetworkForPorts>(
    `SELECT n.id, n.name, n.bridge,
            ARRAY(SELECT DISTINCT ON (p.instance_id) json_build_object('instanceId', p.instance_id, 'id', p.id)
                    FROM ports p WHERE ${byInstance.sql} AND p.network_id = n.id ORDER BY p.instance_id, p.created_at, p.id) AS existing,
            ARRAY(SELECT json_build_object('id', s.id, 'cidr', s.cidr::text, 'size', (s.allocation_end - s.allocation_start + 1)::text,
                                           'gateway', host(s.gateway),
                                           'dnsServers', ARRAY(SELECT host(d.ip) FROM unnest(s.dns_servers) WITH ORDINALITY AS d(ip, i) ORDER BY d.i))
                    FROM subnets s WHERE s.network_id = n.id ORDER BY s.created_at, s.id) AS subnets
       FROM networks n WHERE ${byNetwork.sql}`,
    [byNetwork.value, byInstance.value],
  );
  const made = new Map<string, PortRow>(); // instance id (lower case) + network id → port
  for (const networkId of wanted) {
    const network = networks.find((n) => n.id === networkId);
    if (!network) throw new AsterError('NotFound', `Network ${networkId} not found`);
    const existing = new Map(network.existing.map((e) => [e.instanceId, e.id]));
    for (const w of wants) {
      const instance = w.instanceId.toLowerCase();
      if (!w.networkIds.some((id) => id.toLowerCase() === networkId)) continue;
      const portId = existing.get(instance);
      if (portId) {
        const { rows } = await client.query<PortDbRow>(`${SELECT_PORTS} WHERE p.id = $1`, [portId]);
        made.set(`${instance} ${networkId}`, toPort(rows[0]!));
      } else {
        made.set(`${instance} ${networkId}`, await allocateOn(client, w.instanceId, network));
      }
    }
  }
  // Each in the order asked for.
  for (const w of wants) {
    const instance = w.instanceId.toLowerCase();
    result.set(w.instanceId, [...new Set(w.networkIds.map((id) => id.toLowerCase()))].map((id) => made.get(`${instance} ${id}`)!));
  }
  return result;
}

interface NetworkForPorts {
  id: string;
  name: string;
  bridge: string | null;
  /** Ports the instances already have here, the first of each. */
  existing: { instanceId: string; id: string }[];
  subnets: { id: string; cidr: string; size: string; gateway: string | null; dnsServers: string[] }[];
}

// The first free address at or after `from` (wrapping round to the start of the range), found on the
// (subnet_id, ip) index: the address itself, or the one after the first port whose next address is free. It
// walks only the run of taken addresses after `from`, never the whole range.
const GAP_SEARCH = `
  WITH s AS (SELECT allocation_start AS lo, allocation_end AS hi, allocation_start + $3::bigint AS from_ip FROM subnets WHERE id = $1),
  pick AS (
    SELECT ip FROM (
      (SELECT s.from_ip AS ip, 0 AS k FROM s WHERE NOT EXISTS (SELECT 1 FROM ports p WHERE p.subnet_id = $1 AND p.ip = s.from_ip))
      UNION ALL
      (SELECT p.ip + 1, 1 FROM ports p, s WHERE p.subnet_id = $1 AND p.ip >= s.from_ip AND p.ip < s.hi
          AND NOT EXISTS (SELECT 1 FROM ports q WHERE q.subnet_id = $1 AND q.ip = p.ip + 1) ORDER BY p.ip LIMIT 1)
      UNION ALL
      (SELECT s.lo, 2 FROM s WHERE NOT EXISTS (SELECT 1 FROM ports p WHERE p.subnet_id = $1 AND p.ip = s.lo))
      UNION ALL
      (SELECT p.ip + 1, 3 FROM ports p, s WHERE p.subnet_id = $1 AND p.ip >= s.lo AND p.ip < s.hi
          AND NOT EXISTS (SELECT 1 FROM ports q WHERE q.subnet_id = $1 AND q.ip = p.ip + 1) ORDER BY p.ip LIMIT 1)
    ) c ORDER BY k LIMIT 1)`;

// Sixteen addresses drawn at random, the first free one taken: on a large subnet, builds racing for
// addresses rarely meet, and no run of taken addresses is walked.
const RANDOM_DRAW = `
  WITH s AS (SELECT allocation_start AS lo, allocation_end - allocation_start + 1 AS size, $3::bigint AS unused FROM subnets WHERE id = $1),
  pick AS (
    SELECT c.ip FROM (SELECT s.lo + floor(random() * s.size)::bigint AS ip, g.n FROM s, generate_series(1, 16) AS g(n)) c
     WHERE NOT EXISTS (SELECT 1 FROM ports p WHERE p.subnet_id = $1 AND p.ip = c.ip) ORDER BY c.n LIMIT 1)`;

const INSERT_PICKED = `,
  ins AS (
    INSERT INTO ports (network_id, subnet_id, instance_id, mac, ip)
    SELECT $2, $1, $4, $5, pick.ip FROM pick
    ON CONFLICT DO NOTHING RETURNING id, mac::text AS mac, host(ip) AS ip)
  SELECT (SELECT count(*) FROM pick)::int AS candidates, ins.id, ins.mac, ins.ip FROM (SELECT 1) one LEFT JOIN ins ON true`;

/** Subnets larger than this draw addresses at random before searching for a gap. */
const RANDOM_DRAW_ABOVE = 1024;

async function allocateOn(client: PoolClient, instanceId: string, network: NetworkForPorts): Promise<PortRow> {
  const { subnets } = network;
  for (const subnet of subnets) {
    const size = Number(subnet.size);
    const draws = size > RANDOM_DRAW_ABOVE ? 3 : 0;
    for (let attempt = 0; attempt < 64 + draws; attempt++) {
      // A small subnet gives the lowest free address first; a large one draws at random a few times. After
      // that (or a race lost), the first free address from a random point of the range on, so that builds
      // racing on one network stop picking the same address. Only that search can say the subnet is full.
      const draw = attempt < draws;
      const offset = attempt === 0 && !draws ? 0 : randomInt(size);
      let rows: { candidates: number; id: string | null; mac: string | null; ip: string | null }[];
      try {
        ({ rows } = await client.query<{ candidates: number; id: string | null; mac: string | null; ip: string | null }>((draw ? RANDOM_DRAW : GAP_SEARCH) + INSERT_PICKED, [
          subnet.id,
          network.id,
          offset,
          instanceId,
          randomMac(),
        ]));
      } catch (error) {
        const e = error as { code?: string; constraint?: string };
        if (e.code === '23503' && e.constraint === 'ports_instance_id_fkey') throw new AsterError('NotFound', `Instance ${instanceId} not found`, { cause: error });
        if (e.code === '23503') throw new AsterError('NotFound', `Network ${network.id} not found`, { cause: error });
        throw error;
      }
      const row = rows[0]!;
      if (row.candidates === 0 && draw) continue; // sixteen taken addresses drawn: search instead
      if (row.candidates === 0) break; // this subnet is full: the next one
      if (row.id) {
        return {
          id: row.id,
          networkId: network.id,
          networkName: network.name,
          subnetId: subnet.id,
          bridge: network.bridge,
          mac: row.mac!,
          ip: row.ip!,
          cidr: subnet.cidr,
          gateway: subnet.gateway,
          dnsServers: subnet.dnsServers,
        };
      }
      // Another build took the address first (or the MAC drawn is in use): again.
    }
  }
  const cidrs = subnets.map((s) => s.cidr).join(', ') || 'none';
  throw new AsterError('Conflict', `No free IP address left on network ${network.name} (subnet ${cidrs})`);
}

/** Deletes the instance's ports, freeing their addresses; answers how many there were. */
export async function freePorts(db: Queryable, instanceId: string): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM ports WHERE instance_id = $1', [instanceId]);
  return rowCount ?? 0;
}

/** The ports of each instance, in the order they were made; every instance asked for has an entry. */
export async function portsOf(db: Queryable, instanceIds: string[]): Promise<Map<string, PortRow[]>> {
  const result = new Map<string, PortRow[]>(instanceIds.map((id) => [id, []]));
  if (instanceIds.length === 0) return result;
  const { rows } = await db.query<PortDbRow>(`${SELECT_PORTS} WHERE p.instance_id = ANY($1::uuid[]) ORDER BY p.created_at, p.id`, [instanceIds]);
  // Keys as the caller spelled them; Postgres answers ids in lower case.
  const keyOf = new Map(instanceIds.map((id) => [id.toLowerCase(), id]));
  for (const r of rows) result.get(keyOf.get(r.instance_id) ?? r.instance_id)?.push(toPort(r));
  return result;
}
