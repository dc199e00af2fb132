import { randomUUID } from 'node:crypto';
import { transaction, type PoolClient, type Queryable } from '@aster/db';
import type { z } from 'zod';
import type { Context } from '../context.ts';
import { enforceQuota } from '../compute/quotas.ts';
import { AsterError } from '../errors.ts';
import { toIso } from '../schemas.ts';
import { insertPort } from './addresses.ts';
import { announce, isUuid, needJobs, notFound, type Caller } from './common.ts';
import type { FloatingIp, floatingIpCreateInput, floatingIpUpdateInput } from './schemas.ts';

type FipRow = {
  id: string;
  project_id: string;
  floating_network_id: string;
  network_name: string;
  floating_ip: string;
  port_id: string | null;
  fixed_ip: string | null;
  router_id: string | null;
  server_id: string | null;
  server_name: string | null;
  description: string;
  created_at: Date;
};
const SELECT_FIP = `
  SELECT f.id, f.project_id, f.floating_network_id, n.name AS network_name, host(f.floating_ip) AS floating_ip, f.port_id, host(f.fixed_ip) AS fixed_ip,
         f.router_id, i.id AS server_id, i.name AS server_name, f.description, f.created_at
    FROM floating_ips f JOIN networks n ON n.id = f.floating_network_id LEFT JOIN ports p ON p.id = f.port_id LEFT JOIN instances i ON i.id = p.instance_id`;
const toFip = (r: FipRow): FloatingIp => ({
  id: r.id,
  projectId: r.project_id,
  floatingNetworkId: r.floating_network_id,
  floatingNetworkName: r.network_name,
  floatingIp: r.floating_ip,
  portId: r.port_id,
  fixedIp: r.fixed_ip,
  routerId: r.router_id,
  server: r.server_id ? { id: r.server_id, name: r.server_name ?? '' } : null,
  status: r.port_id ? 'ACTIVE' : 'DOWN',
  description: r.description,
  createdAt: toIso(r.created_at),
});

export async function listFloatingIps(db: Queryable, caller: Caller, allProjects = false): Promise<FloatingIp[]> {
  const { rows } = await db.query<FipRow>(`${SELECT_FIP} WHERE ($1 OR f.project_id = $2) ORDER BY f.created_at, f.id`, [allProjects && caller.isAdmin, caller.project.id]);
  return rows.map(toFip);
}

export async function getFloatingIp(db: Queryable, caller: Caller, id: string): Promise<FloatingIp> {
  if (!isUuid(id)) throw notFound('Floating IP', id);
  const { rows } = await db.query<FipRow>(`${SELECT_FIP} WHERE f.id = $1 AND ($2 OR f.project_id = $3)`, [id, caller.isAdmin, caller.project.id]);
  if (!rows[0]) throw notFound('Floating IP', id);
  return toFip(rows[0]);
}

/**
 * Associates the floating IP with a port of its project: the port's network must be attached to a router whose
 * gateway is on the floating IP's network; that router does the NAT and is stored with it.
 */
async function associate(client: PoolClient, caller: Caller, fip: { id: string; project_id: string; floating_network_id: string; network_name: string }, portId: string, fixedIp?: string) {
  const { rows } = await client.query<{ id: string; project_id: string | null; ip: string; subnet_id: string; network_name: string; device_owner: string }>(
    `SELECT p.id, p.project_id, host(p.ip) AS ip, p.subnet_id, n.name AS network_name, p.device_owner FROM ports p JOIN networks n ON n.id = p.network_id WHERE p.id = $1 FOR SHARE OF p`,
    [portId],
  );
  const port = rows[0];
  if (!port || (port.project_id !== fip.project_id && !caller.isAdmin)) throw notFound('Port', portId);
  if (port.device_owner !== '' && !port.device_owner.startsWith('compute:')) throw new AsterError('InvalidInput', `port ${port.ip} is a ${port.device_owner} port; a floating IP goes to a server's or an unattached port`);
  if (fixedIp !== undefined && fixedIp !== port.ip) throw new AsterError('InvalidInput', `fixedIp ${fixedIp} is not the address of port ${port.ip} (a port has one fixed IP)`);
  const { rows: routers } = await client.query<{ id: string }>(
    `SELECT r.id FROM routers r JOIN ports i ON i.router_id = r.id AND i.device_owner = 'network:router_interface' AND i.subnet_id = $1
      WHERE r.external_network_id = $2 ORDER BY r.created_at LIMIT 1`,
    [port.subnet_id, fip.floating_network_id],
  );
  if (!routers[0]) {
    throw new AsterError(
      'InvalidInput',
      `no router joins network ${port.network_name} to ${fip.network_name}: add an interface on a router with a gateway on ${fip.network_name}`,
    );
  }
  const { rows: taken } = await client.query<{ ip: string }>(`SELECT host(floating_ip) AS ip FROM floating_ips WHERE port_id = $1 AND id <> $2`, [port.id, fip.id]);
  if (taken[0]) throw new AsterError('Conflict', `port ${port.ip} already has floating IP ${taken[0].ip}`);
  await client.query('UPDATE floating_ips SET port_id = $2, fixed_ip = $3, router_id = $4, updated_at = now() WHERE id = $1', [fip.id, port.id, port.ip, routers[0].id]);
}

export async function createFloatingIp(ctx: Context, caller: Caller, input: z.infer<typeof floatingIpCreateInput>): Promise<FloatingIp> {
  needJobs(ctx);
  const id = await transaction(ctx.db, async (client) => {
    const ref = input.floatingNetwork;
    const { rows } = await client.query<{ id: string; name: string; external: boolean; subnet_id: string | null }>(
      `SELECT n.id, n.name, n.external, (SELECT s.id FROM subnets s WHERE s.network_id = n.id ORDER BY s.created_at LIMIT 1) AS subnet_id
         FROM networks n WHERE (n.id::text = lower($1) OR n.name = $1) AND ($2 OR n.project_id = $3 OR n.shared OR n.external)
        ORDER BY n.external DESC, n.created_at LIMIT 1`,
      [ref, caller.isAdmin, caller.project.id],
    );
    const net = rows[0];
    if (!net) throw new AsterError('NotFound', `floatingNetwork: no network ${ref}`);
    if (!net.external) {
      const { rows: ext } = await client.query<{ name: string }>(`SELECT name FROM networks WHERE external ORDER BY created_at LIMIT 1`);
      throw new AsterError('InvalidInput', `network ${net.name} is not external: floating IPs come from an external network${ext[0] ? ` such as ${ext[0].name}` : ''}`);
    }
    if (!net.subnet_id) throw new AsterError('InvalidInput', `network ${net.name} has no subnet to take a floating IP from`);
    await enforceQuota(client, caller.project.id, { floatingIps: 1 }, ctx.config.quotaDefaults);
    const id = randomUUID();
    const port = await insertPort(client, {
      networkId: net.id,
      subnetId: net.subnet_id,
      ip: input.floatingIp,
      projectId: null,
      deviceOwner: 'network:floatingip',
      deviceId: id,
      portSecurityEnabled: false,
      status: 'ACTIVE',
    });
    await client.query(
      `INSERT INTO floating_ips (id, project_id, floating_network_id, floating_port_id, floating_ip, description) VALUES ($1, $2, $3, $4, $5, $6)`,
      [id, caller.project.id, net.id, port.id, port.ip, input.description ?? ''],
    );
    if (input.portId) await associate(client, caller, { id, project_id: caller.project.id, floating_network_id: net.id, network_name: net.name }, input.portId, input.fixedIp);
    await announce(ctx, client, { kind: 'floatingIp', id, projectId: caller.project.id }, `floating IP ${port.ip} allocated`);
    return id;
  });
  return getFloatingIp(ctx.db, caller, id);
}

async function fipForChange(client: Queryable, caller: Caller, id: string) {
  if (!isUuid(id)) throw notFound('Floating IP', id);
  const { rows } = await client.query<{ id: string; project_id: string; floating_network_id: string; network_name: string; floating_ip: string; floating_port_id: string }>(
    `SELECT f.id, f.project_id, f.floating_network_id, n.name AS network_name, host(f.floating_ip) AS floating_ip, f.floating_port_id
       FROM floating_ips f JOIN networks n ON n.id = f.floating_network_id WHERE f.id = $1 AND ($2 OR f.project_id = $3) FOR UPDATE OF f`,
    [id, caller.isAdmin, caller.project.id],
  );
  if (!rows[0]) throw notFound('Floating IP', id);
  return rows[0];
}

/** Associates (portId), disassociates (portId: null) or describes a floating IP. */
export async function updateFloatingIp(ctx: Context, caller: Caller, input: z.infer<typeof floatingIpUpdateInput>): Promise<FloatingIp> {
  needJobs(ctx);
  await transaction(ctx.db, async (client) => {
    const fip = await fipForChange(client, caller, input.id);
    if (input.portId === null) await client.query('UPDATE floating_ips SET port_id = NULL, fixed_ip = NULL, router_id = NULL, updated_at = now() WHERE id = $1', [fip.id]);
    else if (input.portId !== undefined) await associate(client, caller, fip, input.portId, input.fixedIp);
    if (input.description !== undefined) await client.query('UPDATE floating_ips SET description = $2 WHERE id = $1', [fip.id, input.description]);
    const what = input.portId === null ? 'disassociated' : input.portId ? 'associated' : 'updated';
    await announce(ctx, client, { kind: 'floatingIp', id: fip.id, projectId: fip.project_id }, `floating IP ${fip.floating_ip} ${what}`);
  });
  return getFloatingIp(ctx.db, caller, input.id);
}

export async function deleteFloatingIp(ctx: Context, caller: Caller, id: string): Promise<void> {
  needJobs(ctx);
  await transaction(ctx.db, async (client) => {
    const fip = await fipForChange(client, caller, id);
    await client.query('DELETE FROM floating_ips WHERE id = $1', [id]);
    await client.query('DELETE FROM ports WHERE id = $1', [fip.floating_port_id]);
    await announce(ctx, client, { kind: 'floatingIp', id, projectId: fip.project_id, deleted: true }, `floating IP ${fip.floating_ip} released`);
  });
}
