import { randomMac } from '../compute/ipam.ts';
import type { Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';
import { pgCode, pgConstraint } from './common.ts';

/** A port other than an instance's: a router's, a floating IP's, a network's metadata port, or one made on its own. */
export interface NewPort {
  networkId: string;
  subnetId: string;
  /** The address asked for; else the first free one of the subnet's allocation range. */
  ip?: string | undefined;
  mac?: string | undefined;
  projectId: string | null;
  name?: string;
  deviceOwner: string;
  deviceId: string;
  routerId?: string | null;
  portSecurityEnabled?: boolean;
  allowedAddressPairs?: { ip_address: string; mac_address?: string }[];
  adminStateUp?: boolean;
  status?: 'DOWN' | 'ACTIVE';
  instanceId?: string | null;
}

// The first free address of the allocation range, walked in order (ports other than instances' are few per subnet).
const FIRST_FREE = `
  SELECT host(s.allocation_start + g) AS ip FROM subnets s, generate_series(0::bigint, s.allocation_end - s.allocation_start) g
   WHERE s.id = $1 AND NOT EXISTS (SELECT 1 FROM ports p WHERE p.subnet_id = $1 AND p.ip = s.allocation_start + g) LIMIT 1`;

/**
 * Inserts a port with one fixed IP: the address asked for (inside the subnet, not its network, broadcast or a
 * taken address) or the first free one; answers its id, address and MAC. Races for an address are decided by
 * the unique (subnet_id, ip) key: the loser draws again.
 */
export async function insertPort(client: Queryable, port: NewPort): Promise<{ id: string; ip: string; mac: string }> {
  const { rows: subnets } = await client.query<{ cidr: string; name: string; inside: boolean | null; edge: boolean | null; taken: string | null }>(
    `SELECT s.cidr::text AS cidr, s.name,
            ($2::inet <<= s.cidr) AS inside, ($2::inet = network(s.cidr) OR $2::inet = broadcast(s.cidr)) AS edge,
            (SELECT p.id::text FROM ports p WHERE p.subnet_id = s.id AND p.ip = $2::inet) AS taken
       FROM subnets s WHERE s.id = $1 AND s.network_id = $3`,
    [port.subnetId, port.ip ?? null, port.networkId],
  ).catch((error: unknown) => {
    if (pgCode(error) === '22P02') throw new AsterError('InvalidInput', `ip ${port.ip} is not an IPv4 address`, { cause: error });
    throw error;
  });
  const subnet = subnets[0];
  if (!subnet) throw new AsterError('NotFound', `Subnet ${port.subnetId} not found on network ${port.networkId}`);
  if (port.ip !== undefined) {
    if (!port.ip.includes('.')) throw new AsterError('InvalidInput', `ip ${port.ip}: only IPv4 addresses are supported`);
    if (!subnet.inside) throw new AsterError('InvalidInput', `ip ${port.ip} is outside subnet ${subnet.cidr}`);
    if (subnet.edge) throw new AsterError('InvalidInput', `ip ${port.ip} is the network or broadcast address of ${subnet.cidr}`);
    if (subnet.taken) throw new AsterError('Conflict', `ip ${port.ip} is in use on subnet ${subnet.cidr} (port ${subnet.taken})`);
  }
  for (let attempt = 0; attempt < 8; attempt++) {
    let ip = port.ip;
    if (ip === undefined) {
      const { rows } = await client.query<{ ip: string }>(FIRST_FREE, [port.subnetId]);
      if (!rows[0]) throw new AsterError('Conflict', `No free IP address left on subnet ${subnet.cidr}`);
      ip = rows[0].ip;
    }
    const mac = port.mac ?? randomMac();
    try {
      const { rows } = await client.query<{ id: string; ip: string; mac: string }>(
        `INSERT INTO ports (network_id, subnet_id, ip, mac, project_id, name, device_owner, device_id, router_id, port_security_enabled,
                            allowed_address_pairs, admin_state_up, status, instance_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (subnet_id, ip) DO NOTHING RETURNING id, host(ip) AS ip, mac::text AS mac`,
        [
          port.networkId,
          port.subnetId,
          ip,
          mac,
          port.projectId,
          port.name ?? '',
          port.deviceOwner,
          port.deviceId,
          port.routerId ?? null,
          port.portSecurityEnabled ?? true,
          JSON.stringify(port.allowedAddressPairs ?? []),
          port.adminStateUp ?? true,
          port.status ?? 'DOWN',
          port.instanceId ?? null,
        ],
      );
      if (rows[0]) return rows[0];
      if (port.ip !== undefined) throw new AsterError('Conflict', `ip ${port.ip} is in use on subnet ${subnet.cidr}`);
    } catch (error) {
      if (pgCode(error) === '23505' && pgConstraint(error) === 'ports_mac_key') {
        if (port.mac !== undefined) throw new AsterError('Conflict', `macAddress ${port.mac} is in use by another port`, { cause: error });
        continue;
      }
      throw error;
    }
  }
  throw new AsterError('Conflict', `No free IP address could be taken on subnet ${subnet.cidr}; try again`);
}
