import { transaction, type PoolClient, type Queryable } from '@aster/db';
import type { z } from 'zod';
import type { Context } from '../context.ts';
import { enforceQuota } from '../compute/quotas.ts';
import { AsterError } from '../errors.ts';
import { toIso } from '../schemas.ts';
import { insertPort } from './addresses.ts';
import { announce, isUuid, needJobs, notFound, type Caller } from './common.ts';
import type { Port, portCreateInput, portUpdateInput } from './schemas.ts';
import { ensureDefaultSecurityGroup, resolveSecurityGroups } from './securityGroups.ts';

type PortRow = {
  id: string;
  name: string;
  project_id: string | null;
  network_id: string;
  network_name: string;
  subnet_id: string;
  ip: string;
  mac: string;
  device_owner: string;
  device_id: string;
  instance_id: string | null;
  server_name: string | null;
  security_group_ids: string[];
  port_security_enabled: boolean;
  allowed_address_pairs: { ip_address: string; mac_address?: string | null }[];
  admin_state_up: boolean;
  status: Port['status'];
  host: string | null;
  fip_id: string | null;
  fip_ip: string | null;
  created_at: Date;
};

export const SELECT_PORT = `
  SELECT p.id, p.name, p.project_id, p.network_id, n.name AS network_name, p.subnet_id, host(p.ip) AS ip, p.mac::text AS mac,
         p.device_owner, p.device_id, p.instance_id, i.name AS server_name,
         ARRAY(SELECT g.security_group_id::text FROM port_security_groups g WHERE g.port_id = p.id ORDER BY g.security_group_id) AS security_group_ids,
         p.port_security_enabled, p.allowed_address_pairs, p.admin_state_up, p.status, p.host, f.id AS fip_id, host(f.floating_ip) AS fip_ip, p.created_at
    FROM ports p JOIN networks n ON n.id = p.network_id LEFT JOIN instances i ON i.id = p.instance_id
    LEFT JOIN floating_ips f ON f.port_id = p.id`;

const toPort = (r: PortRow): Port => ({
  id: r.id,
  name: r.name,
  projectId: r.project_id,
  networkId: r.network_id,
  networkName: r.network_name,
  subnetId: r.subnet_id,
  ip: r.ip,
  macAddress: r.mac,
  deviceOwner: r.device_owner,
  deviceId: r.device_id,
  server: r.instance_id ? { id: r.instance_id, name: r.server_name ?? '' } : null,
  securityGroupIds: r.security_group_ids,
  portSecurityEnabled: r.port_security_enabled,
  allowedAddressPairs: r.allowed_address_pairs.map((a) => ({ ipAddress: a.ip_address, macAddress: a.mac_address ?? null })),
  adminStateUp: r.admin_state_up,
  status: r.status,
  host: r.host,
  floatingIp: r.fip_id ? { id: r.fip_id, ip: r.fip_ip! } : null,
  createdAt: toIso(r.created_at),
});

export async function listPorts(db: Queryable, caller: Caller, options: { allProjects?: boolean; networkId?: string; serverId?: string } = {}): Promise<Port[]> {
  const all = options.allProjects && caller.isAdmin;
  const { rows } = await db.query<PortRow>(
    `${SELECT_PORT} WHERE ($1 OR p.project_id = $2) AND ($3::uuid IS NULL OR p.network_id = $3) AND ($4::uuid IS NULL OR p.instance_id = $4)
      ORDER BY p.created_at, p.id`,
    [all, caller.project.id, options.networkId ?? null, options.serverId ?? null],
  );
  return rows.map(toPort);
}

export async function getPort(db: Queryable, caller: Caller, id: string): Promise<Port> {
  if (!isUuid(id)) throw notFound('Port', id);
  const { rows } = await db.query<PortRow>(`${SELECT_PORT} WHERE p.id = $1 AND ($2 OR p.project_id = $3)`, [id, caller.isAdmin, caller.project.id]);
  if (!rows[0]) throw notFound('Port', id);
  return toPort(rows[0]);
}

/** Port security off takes no security groups and no address pairs (Neutron refuses both). */
function checkPortSecurity(enabled: boolean, groups: number, pairs: number): void {
  if (enabled) return;
  if (groups > 0) throw new AsterError('InvalidInput', `portSecurityEnabled: false needs a port without security groups (it has ${groups}); give securityGroups: []`);
  if (pairs > 0) throw new AsterError('InvalidInput', 'allowedAddressPairs need port security: portSecurityEnabled is false');
}

async function checkPairs(db: Queryable, pairs: { ipAddress: string; macAddress?: string | undefined }[]) {
  for (const [i, p] of pairs.entries()) {
    const { rows } = await db.query<{ ok: boolean }>(`SELECT family($1::inet) = 4 AS ok`, [p.ipAddress]).catch(() => ({ rows: [{ ok: false }] }));
    if (!rows[0]!.ok) throw new AsterError('InvalidInput', `allowedAddressPairs[${i}].ipAddress ${p.ipAddress} is not an IPv4 address or network`);
  }
  return pairs.map((p) => ({ ip_address: p.ipAddress, ...(p.macAddress ? { mac_address: p.macAddress } : {}) }));
}

async function setGroups(client: PoolClient, portId: string, groupIds: string[]): Promise<void> {
  await client.query('DELETE FROM port_security_groups WHERE port_id = $1', [portId]);
  if (groupIds.length) {
    await client.query('INSERT INTO port_security_groups (port_id, security_group_id) SELECT $1, unnest($2::uuid[])', [portId, groupIds]);
  }
}

export async function createPort(ctx: Context, caller: Caller, input: z.infer<typeof portCreateInput>): Promise<Port> {
  if (input.macAddress !== undefined && !caller.isAdmin) throw new AsterError('Forbidden', 'macAddress: only a cloud administrator may choose a port’s MAC address');
  const portSecurity = input.portSecurityEnabled ?? true;
  if (!portSecurity && input.securityGroups === undefined) input = { ...input, securityGroups: [] };
  checkPortSecurity(portSecurity, input.securityGroups?.length ?? 1, input.allowedAddressPairs?.length ?? 0);
  needJobs(ctx);
  const projectId = caller.project.id;
  const id = await transaction(ctx.db, async (client) => {
    const { rows } = await client.query<{ id: string; name: string; project_id: string | null; shared: boolean; external: boolean; subnet_id: string | null }>(
      `SELECT n.id, n.name, n.project_id, n.shared, n.external,
              (SELECT s.id FROM subnets s WHERE s.network_id = n.id AND ($2::uuid IS NULL OR s.id = $2) ORDER BY s.created_at LIMIT 1) AS subnet_id
         FROM networks n WHERE n.id = $1 FOR SHARE OF n`,
      [input.networkId, input.fixedIp?.subnetId ?? null],
    );
    const network = rows[0];
    if (!network || (!caller.isAdmin && network.project_id !== projectId && !network.shared && !network.external)) throw notFound('Network', input.networkId);
    if (!network.subnet_id) {
      if (input.fixedIp?.subnetId) throw new AsterError('NotFound', `fixedIp.subnetId: subnet ${input.fixedIp.subnetId} is not on network ${network.name}`);
      throw new AsterError('InvalidInput', `network ${network.name} has no subnet: create one with subnets.create first`);
    }
    const groups = input.securityGroups === undefined ? [await ensureDefaultSecurityGroup(client, projectId)] : await resolveSecurityGroups(client, projectId, input.securityGroups);
    const pairs = await checkPairs(client, input.allowedAddressPairs ?? []);
    await enforceQuota(client, projectId, { ports: 1 }, ctx.config.quotaDefaults);
    const made = await insertPort(client, {
      networkId: network.id,
      subnetId: network.subnet_id,
      ip: input.fixedIp?.ip,
      mac: input.macAddress,
      projectId,
      name: input.name ?? '',
      deviceOwner: '',
      deviceId: '',
      portSecurityEnabled: portSecurity,
      allowedAddressPairs: pairs,
      adminStateUp: input.adminStateUp,
    });
    await setGroups(client, made.id, groups);
    await announce(ctx, client, { kind: 'port', id: made.id, projectId }, `port ${made.ip} created on network ${network.name}`);
    return made.id;
  });
  return getPort(ctx.db, caller, id);
}

export async function updatePort(ctx: Context, caller: Caller, input: z.infer<typeof portUpdateInput>): Promise<Port> {
  const current = await getPort(ctx.db, caller, input.id);
  needJobs(ctx);
  await transaction(ctx.db, async (client) => {
    await client.query('SELECT 1 FROM ports WHERE id = $1 FOR UPDATE', [input.id]);
    const projectId = current.projectId ?? caller.project.id;
    const groups = input.securityGroups === undefined ? current.securityGroupIds : await resolveSecurityGroups(client, projectId, input.securityGroups);
    const pairs = input.allowedAddressPairs === undefined ? null : await checkPairs(client, input.allowedAddressPairs);
    const enabled = input.portSecurityEnabled ?? current.portSecurityEnabled;
    checkPortSecurity(enabled, groups.length, pairs ? pairs.length : current.allowedAddressPairs.length);
    await client.query(
      `UPDATE ports SET name = COALESCE($2, name), port_security_enabled = $3, allowed_address_pairs = COALESCE($4::jsonb, allowed_address_pairs),
              admin_state_up = COALESCE($5, admin_state_up), updated_at = now() WHERE id = $1`,
      [input.id, input.name ?? null, enabled, pairs ? JSON.stringify(pairs) : null, input.adminStateUp ?? null],
    );
    if (input.securityGroups !== undefined) await setGroups(client, input.id, groups);
    await announce(ctx, client, { kind: 'port', id: input.id, projectId: current.projectId }, `port ${current.ip} updated`);
  });
  return getPort(ctx.db, caller, input.id);
}

export async function deletePort(ctx: Context, caller: Caller, id: string): Promise<void> {
  const current = await getPort(ctx.db, caller, id);
  if (current.server) throw new AsterError('Conflict', `port ${current.ip} belongs to server ${current.server.name}: delete the server to free it`);
  if (current.deviceOwner === 'network:router_interface') throw new AsterError('Conflict', `port ${current.ip} is a router interface: remove it with routers.removeInterface`);
  if (current.deviceOwner.startsWith('network:')) throw new AsterError('Conflict', `port ${current.ip} belongs to the network (${current.deviceOwner}) and goes with what holds it`);
  needJobs(ctx);
  await transaction(ctx.db, async (client) => {
    await client.query('DELETE FROM ports WHERE id = $1', [id]);
    await announce(ctx, client, { kind: 'port', id, projectId: current.projectId, deleted: true }, `port ${current.ip} deleted`);
  });
}

/**
 * Sets a port's status (the network worker calls it when OVN binds or unbinds the port) and, for an
 * instance's port, touches the instance so that servers.watch shows it; answers whether it changed. One statement.
 */
export async function markPortStatus(db: Queryable, portId: string, status: Port['status'], host?: string | null): Promise<boolean> {
  const { rows } = await db.query<{ id: string }>(
    `WITH p AS (
       UPDATE ports SET status = $2, host = CASE WHEN $3 THEN $4 ELSE host END, updated_at = now()
        WHERE id = $1 AND (status IS DISTINCT FROM $2 OR ($3 AND host IS DISTINCT FROM $4)) RETURNING id, instance_id, project_id),
     i AS (UPDATE instances SET updated_at = now() WHERE id = (SELECT instance_id FROM p) RETURNING id)
     SELECT p.id, pg_notify('aster_network_changes', json_build_object('kind', 'port', 'id', p.id, 'projectId', p.project_id)::text),
            (SELECT count(*) FROM i) AS touched
       FROM p`,
    [portId, status, host !== undefined, host ?? null],
  );
  return rows.length > 0;
}
