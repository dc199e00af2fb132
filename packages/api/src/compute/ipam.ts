import { randomBytes } from 'node:crypto';
import type { PoolClient, Queryable } from '@aster/db';
import { AsterError, isUniqueViolation } from '../errors.ts';

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
 * another host keeps its address. Allocations on one network are serialised by a lock on its row
 * (and on the subnet), the unique (subnet_id, ip) constraint being the second guard.
 */
export async function allocatePorts(client: PoolClient, instanceId: string, networkIds: string[]): Promise<PortRow[]> {
  const wanted = [...new Set(networkIds.map((id) => id.toLowerCase()))];
  if (wanted.length === 0) return [];
  // Locked in id order whatever order was asked, so two allocations never wait on each other in a circle.
  const { rows: networks } = await client.query<{ id: string; name: string }>(
    'SELECT id, name FROM networks WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE',
    [wanted],
  );
  const ports: PortRow[] = [];
  for (const networkId of wanted) {
    const network = networks.find((n) => n.id === networkId);
    if (!network) throw new AsterError('NotFound', `Network ${networkId} not found`);
    const existing = await client.query<PortDbRow>(`${SELECT_PORTS} WHERE p.instance_id = $1 AND p.network_id = $2 ORDER BY p.created_at LIMIT 1`, [
      instanceId,
      networkId,
    ]);
    ports.push(existing.rows[0] ? toPort(existing.rows[0]) : await allocateOn(client, instanceId, network));
  }
  return ports;
}

async function allocateOn(client: PoolClient, instanceId: string, network: { id: string; name: string }): Promise<PortRow> {
  const { rows: subnets } = await client.query<{ id: string; cidr: string }>(
    'SELECT id, cidr::text AS cidr FROM subnets WHERE network_id = $1 ORDER BY created_at, id FOR UPDATE',
    [network.id],
  );
  for (const subnet of subnets) {
    // The lowest free address of the range; the scan stops at the first gap.
    const free = await client.query<{ ip: string }>(
      `SELECT host(s.allocation_start + g.n) AS ip
         FROM subnets s, generate_series(0::bigint, s.allocation_end - s.allocation_start) AS g(n)
        WHERE s.id = $1
          AND NOT EXISTS (SELECT 1 FROM ports p WHERE p.subnet_id = s.id AND p.ip = s.allocation_start + g.n)
        ORDER BY g.n LIMIT 1`,
      [subnet.id],
    );
    const ip = free.rows[0]?.ip;
    if (ip === undefined) continue;
    return insertPort(client, instanceId, network, subnet.id, ip);
  }
  const cidrs = subnets.map((s) => s.cidr).join(', ') || 'none';
  throw new AsterError('Conflict', `No free IP address left on network ${network.name} (subnet ${cidrs})`);
}

async function insertPort(client: PoolClient, instanceId: string, network: { id: string; name: string }, subnetId: string, ip: string): Promise<PortRow> {
  // A MAC collision is skipped by ON CONFLICT (mac) rather than raised, which would abort the caller's transaction.
  for (let attempt = 0; attempt < 8; attempt++) {
    let inserted;
    try {
      inserted = await client.query<{ id: string }>(
        `INSERT INTO ports (network_id, subnet_id, instance_id, mac, ip) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (mac) DO NOTHING RETURNING id`,
        [network.id, subnetId, instanceId, randomMac(), ip],
      );
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new AsterError('Conflict', `IP address ${ip} on network ${network.name} was taken by another allocation; try again`, { cause: error });
      }
      if ((error as { code?: string }).code === '23503' && (error as { constraint?: string }).constraint === 'ports_instance_id_fkey') {
        throw new AsterError('NotFound', `Instance ${instanceId} not found`, { cause: error });
      }
      throw error;
    }
    const id = inserted.rows[0]?.id;
    if (id) {
      const { rows } = await client.query<PortDbRow>(`${SELECT_PORTS} WHERE p.id = $1`, [id]);
      return toPort(rows[0]!);
    }
  }
  throw new Error(`could not find a free MAC address under ${macPrefix} after 8 attempts`);
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
