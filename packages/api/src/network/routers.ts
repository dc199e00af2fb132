import { createHash } from 'node:crypto';
import { transaction, type PoolClient, type Queryable } from '@aster/db';
import type { z } from 'zod';
import type { Context } from '../context.ts';
import { enforceQuota } from '../compute/quotas.ts';
import { AsterError } from '../errors.ts';
import { toIso } from '../schemas.ts';
import { insertPort } from './addresses.ts';
import { announce, isUuid, needJobs, notFound, plural, type Caller } from './common.ts';
import type { Router, routerCreateInput, routerInterfaceInput, routerUpdateInput } from './schemas.ts';

type RouterRow = {
  id: string;
  project_id: string;
  name: string;
  description: string;
  admin_state_up: boolean;
  external_network_id: string | null;
  external_network_name: string | null;
  enable_snat: boolean;
  routes: { destination: string; nexthop: string }[];
  created_at: Date;
  ports: { id: string; owner: string; subnet_id: string; network_id: string; network_name: string; cidr: string; ip: string }[];
};

const SELECT_ROUTER = `
  SELECT r.*, en.name AS external_network_name,
         COALESCE((SELECT json_agg(json_build_object('id', p.id, 'owner', p.device_owner, 'subnet_id', p.subnet_id, 'network_id', p.network_id,
                     'network_name', n.name, 'cidr', s.cidr::text, 'ip', host(p.ip)) ORDER BY p.created_at, p.id)
                     FROM ports p JOIN subnets s ON s.id = p.subnet_id JOIN networks n ON n.id = p.network_id WHERE p.router_id = r.id), '[]') AS ports
    FROM routers r LEFT JOIN networks en ON en.id = r.external_network_id`;

const toRouter = (r: RouterRow): Router => {
  const gw = r.ports.find((p) => p.owner === 'network:router_gateway');
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    description: r.description,
    adminStateUp: r.admin_state_up,
    status: 'ACTIVE',
    externalGateway: r.external_network_id
      ? { networkId: r.external_network_id, networkName: r.external_network_name ?? '', enableSnat: r.enable_snat, portId: gw?.id ?? null, ip: gw?.ip ?? null }
      : null,
    interfaces: r.ports
      .filter((p) => p.owner === 'network:router_interface')
      .map((p) => ({ portId: p.id, subnetId: p.subnet_id, networkId: p.network_id, networkName: p.network_name, cidr: p.cidr, ip: p.ip })),
    routes: r.routes,
    createdAt: toIso(r.created_at),
  };
};

export async function listRouters(db: Queryable, caller: Caller, allProjects = false): Promise<Router[]> {
  const { rows } = await db.query<RouterRow>(`${SELECT_ROUTER} WHERE ($1 OR r.project_id = $2) ORDER BY r.created_at, r.id`, [allProjects && caller.isAdmin, caller.project.id]);
  return rows.map(toRouter);
}

export async function getRouter(db: Queryable, caller: Caller, id: string): Promise<Router> {
  if (!isUuid(id)) throw notFound('Router', id);
  const { rows } = await db.query<RouterRow>(`${SELECT_ROUTER} WHERE r.id = $1 AND ($2 OR r.project_id = $3)`, [id, caller.isAdmin, caller.project.id]);
  if (!rows[0]) throw notFound('Router', id);
  return toRouter(rows[0]);
}

async function routerForChange(client: Queryable, caller: Caller, id: string) {
  if (!isUuid(id)) throw notFound('Router', id);
  const { rows } = await client.query<{ id: string; name: string; project_id: string; external_network_id: string | null }>(
    'SELECT id, name, project_id, external_network_id FROM routers WHERE id = $1 AND ($2 OR project_id = $3) FOR UPDATE',
    [id, caller.isAdmin, caller.project.id],
  );
  if (!rows[0]) throw notFound('Router', id);
  return rows[0];
}

/** Floating IPs that NAT through the router, for refusals. */
async function floatingIpsThrough(client: Queryable, routerId: string, subnetId?: string): Promise<string[]> {
  const { rows } = await client.query<{ ip: string }>(
    `SELECT host(f.floating_ip) AS ip FROM floating_ips f LEFT JOIN ports p ON p.id = f.port_id
      WHERE f.router_id = $1 AND ($2::uuid IS NULL OR p.subnet_id = $2) ORDER BY f.floating_ip`,
    [routerId, subnetId ?? null],
  );
  return rows.map((r) => r.ip);
}

/** Sets (or with null clears) the router's gateway: a port on the external network's first subnet. */
async function setGateway(client: PoolClient, caller: Caller, router: { id: string; name: string; external_network_id: string | null }, gateway: { networkId: string; enableSnat: boolean } | null) {
  if (router.external_network_id && (!gateway || gateway.networkId !== router.external_network_id)) {
    const fips = await floatingIpsThrough(client, router.id);
    if (fips.length) throw new AsterError('Conflict', `router ${router.name} has ${plural(fips.length, 'floating IP')} associated through it (${fips.join(', ')}): disassociate them first`);
    await client.query(`DELETE FROM ports WHERE router_id = $1 AND device_owner = 'network:router_gateway'`, [router.id]);
  }
  if (!gateway) {
    await client.query('UPDATE routers SET external_network_id = NULL, updated_at = now() WHERE id = $1', [router.id]);
    return;
  }
  if (gateway.networkId === router.external_network_id) {
    await client.query('UPDATE routers SET enable_snat = $2, updated_at = now() WHERE id = $1', [router.id, gateway.enableSnat]);
    return;
  }
  const { rows } = await client.query<{ id: string; name: string; external: boolean; project_id: string | null; shared: boolean; subnet_id: string | null }>(
    `SELECT n.id, n.name, n.external, n.project_id, n.shared, (SELECT s.id FROM subnets s WHERE s.network_id = n.id ORDER BY s.created_at LIMIT 1) AS subnet_id
       FROM networks n WHERE n.id = $1`,
    [gateway.networkId],
  );
  const net = rows[0];
  if (!net || (!caller.isAdmin && !net.external && !net.shared && net.project_id !== caller.project.id)) throw notFound('Network', gateway.networkId);
  if (!net.external) throw new AsterError('InvalidInput', `externalGateway: network ${net.name} is not external`);
  if (!net.subnet_id) throw new AsterError('InvalidInput', `externalGateway: network ${net.name} has no subnet`);
  await insertPort(client, {
    networkId: net.id,
    subnetId: net.subnet_id,
    projectId: null,
    deviceOwner: 'network:router_gateway',
    deviceId: router.id,
    routerId: router.id,
    portSecurityEnabled: false,
    status: 'ACTIVE',
  });
  await client.query('UPDATE routers SET external_network_id = $2, enable_snat = $3, updated_at = now() WHERE id = $1', [router.id, net.id, gateway.enableSnat]);
}

async function checkRoutes(client: Queryable, routerId: string, routes: { destination: string; nexthop: string }[]) {
  const out = [];
  for (const [i, r] of routes.entries()) {
    let row: { destination: string; on: boolean } | undefined;
    try {
      ({ rows: [row] } = await client.query<{ destination: string; on: boolean }>(
        `SELECT network($1::cidr)::text AS destination,
                EXISTS (SELECT 1 FROM ports p JOIN subnets s ON s.id = p.subnet_id WHERE p.router_id = $3 AND $2::inet <<= s.cidr) AS on`,
        [r.destination, r.nexthop, routerId],
      ));
    } catch {
      throw new AsterError('InvalidInput', `routes[${i}]: ${r.destination} via ${r.nexthop} is not a network and an address`);
    }
    if (!row!.on) throw new AsterError('InvalidInput', `routes[${i}]: nexthop ${r.nexthop} is on none of the router's subnets`);
    out.push({ destination: row!.destination, nexthop: r.nexthop });
  }
  return out;
}

export async function createRouter(ctx: Context, caller: Caller, input: z.infer<typeof routerCreateInput>): Promise<Router> {
  needJobs(ctx);
  const id = await transaction(ctx.db, async (client) => {
    await enforceQuota(client, caller.project.id, { routers: 1 }, ctx.config.quotaDefaults);
    const { rows } = await client.query<{ id: string }>('INSERT INTO routers (project_id, name, description, admin_state_up) VALUES ($1, $2, $3, $4) RETURNING id', [
      caller.project.id,
      input.name,
      input.description ?? '',
      input.adminStateUp,
    ]);
    const id = rows[0]!.id;
    if (input.externalGateway) await setGateway(client, caller, { id, name: input.name, external_network_id: null }, input.externalGateway);
    await announce(ctx, client, { kind: 'router', id, projectId: caller.project.id }, `router ${input.name} created`);
    return id;
  });
  return getRouter(ctx.db, caller, id);
}

export async function updateRouter(ctx: Context, caller: Caller, input: z.infer<typeof routerUpdateInput>): Promise<Router> {
  needJobs(ctx);
  await transaction(ctx.db, async (client) => {
    const router = await routerForChange(client, caller, input.id);
    if (input.externalGateway !== undefined) await setGateway(client, caller, router, input.externalGateway);
    const routes = input.routes ? await checkRoutes(client, router.id, input.routes) : null;
    await client.query(
      `UPDATE routers SET name = COALESCE($2, name), description = COALESCE($3, description), admin_state_up = COALESCE($4, admin_state_up),
              routes = COALESCE($5::jsonb, routes), updated_at = now() WHERE id = $1`,
      [router.id, input.name ?? null, input.description ?? null, input.adminStateUp ?? null, routes ? JSON.stringify(routes) : null],
    );
    await announce(ctx, client, { kind: 'router', id: router.id, projectId: router.project_id }, `router ${router.name} updated`);
  });
  return getRouter(ctx.db, caller, input.id);
}

export async function deleteRouter(ctx: Context, caller: Caller, id: string): Promise<void> {
  needJobs(ctx);
  await transaction(ctx.db, async (client) => {
    const router = await routerForChange(client, caller, id);
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ports WHERE router_id = $1 AND device_owner = 'network:router_interface'`, [id]);
    if (rows[0]!.n > 0) throw new AsterError('Conflict', `router ${router.name} has ${plural(rows[0]!.n, 'interface')}: remove them with routers.removeInterface first`);
    const fips = await floatingIpsThrough(client, id);
    if (fips.length) throw new AsterError('Conflict', `router ${router.name} has ${plural(fips.length, 'floating IP')} associated through it (${fips.join(', ')}): disassociate them first`);
    await client.query('DELETE FROM ports WHERE router_id = $1', [id]);
    await client.query('DELETE FROM routers WHERE id = $1', [id]);
    await announce(ctx, client, { kind: 'router', id, projectId: router.project_id, deleted: true }, `router ${router.name} deleted`);
  });
}

/** A router interface's MAC, derived from the router and the subnet (fa:16:3e:… as every Aster port). */
export function interfaceMac(routerId: string, subnetId: string): string {
  const digest = createHash('sha256').update(`${routerId}/${subnetId}`).digest();
  return ['fa', '16', '3e', ...[...digest.subarray(0, 3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** Attaches a subnet (a new port at its gateway address) or an unattached port of the project to the router. */
export async function addInterface(ctx: Context, caller: Caller, input: z.infer<typeof routerInterfaceInput>): Promise<Router> {
  needJobs(ctx);
  await transaction(ctx.db, async (client) => {
    const router = await routerForChange(client, caller, input.routerId);
    let subnetId: string;
    let port: { id: string; project_id: string | null; device_owner: string; ip: string } | undefined;
    if ('portId' in input) {
      const { rows } = await client.query<{ id: string; project_id: string | null; device_owner: string; ip: string; subnet_id: string }>(
        'SELECT id, project_id, device_owner, host(ip) AS ip, subnet_id FROM ports WHERE id = $1 FOR UPDATE',
        [input.portId],
      );
      port = rows[0];
      if (!port || (!caller.isAdmin && port.project_id !== router.project_id)) throw notFound('Port', input.portId);
      if (port.device_owner !== '') throw new AsterError('Conflict', `port ${port.ip} is in use (${port.device_owner}); a router interface needs an unattached port`);
      subnetId = rows[0]!.subnet_id;
    } else subnetId = input.subnetId;
    const { rows } = await client.query<{ id: string; cidr: string; gateway: string | null; network_id: string; project_id: string | null; shared: boolean; external: boolean; network_name: string }>(
      `SELECT s.id, s.cidr::text AS cidr, host(s.gateway) AS gateway, s.network_id, n.project_id, n.shared, n.external, n.name AS network_name
         FROM subnets s JOIN networks n ON n.id = s.network_id WHERE s.id = $1 FOR SHARE OF n`,
      [subnetId],
    );
    const subnet = rows[0];
    if (!subnet || (!caller.isAdmin && subnet.project_id !== router.project_id && !subnet.shared)) throw notFound('Subnet', subnetId);
    if (subnet.project_id !== router.project_id && !caller.isAdmin) {
      throw new AsterError('Forbidden', `subnet ${subnet.cidr} belongs to another project; only an administrator may attach it to router ${router.name}`);
    }
    if (subnet.external) throw new AsterError('InvalidInput', `subnet ${subnet.cidr} is on external network ${subnet.network_name}: set it as the router's gateway instead`);
    const { rows: on } = await client.query<{ cidr: string; same: boolean }>(
      `SELECT s.cidr::text AS cidr, s.id = $2 AS same FROM ports p JOIN subnets s ON s.id = p.subnet_id
        WHERE p.router_id = $1 AND p.device_owner = 'network:router_interface' AND (s.id = $2 OR s.cidr && $3::cidr) ORDER BY same DESC LIMIT 1`,
      [router.id, subnet.id, subnet.cidr],
    );
    if (on[0]?.same) throw new AsterError('Conflict', `subnet ${subnet.cidr} is already on router ${router.name}`);
    if (on[0]) throw new AsterError('InvalidInput', `subnet ${subnet.cidr} overlaps subnet ${on[0].cidr} already on router ${router.name}`);
    if (port) {
      await client.query(`UPDATE ports SET device_owner = 'network:router_interface', device_id = $2, router_id = $2, port_security_enabled = false, status = 'ACTIVE', updated_at = now() WHERE id = $1`, [
        port.id,
        router.id,
      ]);
      await client.query('DELETE FROM port_security_groups WHERE port_id = $1', [port.id]);
    } else {
      if (!subnet.gateway) throw new AsterError('InvalidInput', `subnet ${subnet.cidr} has no gateway: give it one, or attach a port of it instead`);
      await insertPort(client, {
        networkId: subnet.network_id,
        subnetId: subnet.id,
        ip: subnet.gateway,
        projectId: subnet.project_id ?? router.project_id,
        deviceOwner: 'network:router_interface',
        deviceId: router.id,
        routerId: router.id,
        // The same MAC each time this subnet is attached to this router: guests keep the gateway's MAC in their ARP
        // cache for minutes, and would keep sending to a new interface's old address.
        mac: interfaceMac(router.id, subnet.id),
        portSecurityEnabled: false,
        status: 'ACTIVE',
      });
    }
    await announce(ctx, client, { kind: 'router', id: router.id, projectId: router.project_id }, `subnet ${subnet.cidr} attached to router ${router.name}`);
  });
  return getRouter(ctx.db, caller, input.routerId);
}

export async function removeInterface(ctx: Context, caller: Caller, input: z.infer<typeof routerInterfaceInput>): Promise<Router> {
  needJobs(ctx);
  await transaction(ctx.db, async (client) => {
    const router = await routerForChange(client, caller, input.routerId);
    const { rows } = await client.query<{ id: string; subnet_id: string; cidr: string }>(
      `SELECT p.id, p.subnet_id, s.cidr::text AS cidr FROM ports p JOIN subnets s ON s.id = p.subnet_id
        WHERE p.router_id = $1 AND p.device_owner = 'network:router_interface' AND (p.id = $2 OR p.subnet_id = $3)`,
      [router.id, 'portId' in input ? input.portId : null, 'subnetId' in input ? input.subnetId : null],
    );
    const iface = rows[0];
    if (!iface) throw new AsterError('NotFound', `router ${router.name} has no interface on ${'subnetId' in input ? `subnet ${input.subnetId}` : `port ${input.portId}`}`);
    const fips = await floatingIpsThrough(client, router.id, iface.subnet_id);
    if (fips.length) {
      throw new AsterError('Conflict', `subnet ${iface.cidr} of router ${router.name} is needed by ${plural(fips.length, 'floating IP')} (${fips.join(', ')}): disassociate them first`);
    }
    await client.query('DELETE FROM ports WHERE id = $1', [iface.id]);
    await announce(ctx, client, { kind: 'router', id: router.id, projectId: router.project_id }, `subnet ${iface.cidr} detached from router ${router.name}`);
  });
  return getRouter(ctx.db, caller, input.routerId);
}
