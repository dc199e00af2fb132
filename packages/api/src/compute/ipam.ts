import { randomBytes, randomInt } from 'node:crypto';
import { addressSearches, Ipv4Error, planSubnet as planIpv4Subnet, type SubnetPlan, type SubnetSpec } from '@aster/compute';
import { matchIds, type PoolClient, type Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';

// Ports and their addresses in the database. What can be worked out without it (address arithmetic, a subnet's
// plan, the order of the looks for a free address) is @aster/compute's ipv4 module.

export type { SubnetPlan, SubnetSpec };

/** A subnet checked and its defaults filled in (see @aster/compute's planSubnet); what is wrong is InvalidInput. */
export function planSubnet(spec: SubnetSpec): SubnetPlan {
  try {
    return planIpv4Subnet(spec);
  } catch (error) {
    if (error instanceof Ipv4Error) throw new AsterError('InvalidInput', error.message, { cause: error });
    throw error;
  }
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
            ARRAY(SELECT DISTINCT ON (p.instance_id)
                         json_build_object('instanceId', p.instance_id, 'id', p.id, 'subnetId', p.subnet_id, 'mac', p.mac::text, 'ip', host(p.ip),
                                           'cidr', s.cidr::text, 'gateway', host(s.gateway),
                                           'dnsServers', ARRAY(SELECT host(d.ip) FROM unnest(s.dns_servers) WITH ORDINALITY AS d(ip, i) ORDER BY d.i))
                    FROM ports p JOIN subnets s ON s.id = p.subnet_id
                   WHERE ${byInstance.sql} AND p.network_id = n.id ORDER BY p.instance_id, p.created_at, p.id) AS existing,
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
    const existing = new Map(network.existing.map((e) => [e.instanceId, e]));
    for (const w of wants) {
      const instance = w.instanceId.toLowerCase();
      if (!w.networkIds.some((id) => id.toLowerCase() === networkId)) continue;
      const had = existing.get(instance);
      made.set(
        `${instance} ${networkId}`,
        had
          ? { id: had.id, networkId: network.id, networkName: network.name, subnetId: had.subnetId, bridge: network.bridge, mac: had.mac, ip: had.ip, cidr: had.cidr, gateway: had.gateway, dnsServers: had.dnsServers }
          : await allocateOn(client, w.instanceId, network),
      );
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
  /** Ports the instances already have here, the first of each (a build retried elsewhere keeps its address). */
  existing: { instanceId: string; id: string; subnetId: string; mac: string; ip: string; cidr: string; gateway: string | null; dnsServers: string[] }[];
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
  inst AS (SELECT project_id, 'compute:' || COALESCE(availability_zone, 'nova') AS owner, security_groups FROM instances WHERE id = $4),
  ins AS (
    INSERT INTO ports (network_id, subnet_id, instance_id, mac, ip, project_id, device_owner, device_id)
    SELECT $2, $1, $4, $5, pick.ip, (SELECT project_id FROM inst), COALESCE((SELECT owner FROM inst), 'compute:nova'), $4::text FROM pick
    ON CONFLICT DO NOTHING RETURNING id, mac::text AS mac, host(ip) AS ip),
  -- The groups the server asked for (those still there).
  groups AS (
    INSERT INTO port_security_groups (port_id, security_group_id)
    SELECT ins.id, g.id FROM ins, inst, security_groups g WHERE g.id = ANY(inst.security_groups))
  SELECT (SELECT count(*) FROM pick)::int AS candidates, ins.id, ins.mac, ins.ip FROM (SELECT 1) one LEFT JOIN ins ON true`;

async function allocateOn(client: PoolClient, instanceId: string, network: NetworkForPorts): Promise<PortRow> {
  const { subnets } = network;
  for (const subnet of subnets) {
    for (const { draw, offset } of addressSearches(Number(subnet.size), randomInt)) {
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
