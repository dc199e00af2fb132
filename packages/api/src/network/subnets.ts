import { transaction, type PoolClient, type Queryable } from '@aster/db';
import { z } from 'zod';
import type { Context } from '../context.ts';
import { loadNetworks, type SubnetView } from '../compute/networks.ts';
import { planSubnet, type SubnetPlan, type SubnetSpec } from '../compute/ipam.ts';
import { enforceQuota } from '../compute/quotas.ts';
import { AsterError } from '../errors.ts';
import { insertPort } from './addresses.ts';
import { announce, isUuid, listed, notFound, pgCode, plural, type Caller } from './common.ts';
import type { subnetCreateInput, subnetUpdateInput } from './schemas.ts';

export type HostRoute = { destination: string; nexthop: string };

/** Host routes checked in Postgres: a destination network (normalised) and a next hop inside the subnet. */
export async function checkHostRoutes(db: Queryable, cidr: string, routes: HostRoute[], field = 'hostRoutes'): Promise<HostRoute[]> {
  const out: HostRoute[] = [];
  for (const [i, r] of routes.entries()) {
    type Checked = { destination: string; inside: boolean; v4: boolean };
    let row: Checked;
    try {
      const { rows } = await db.query<Checked>(
        `SELECT network($1::cidr)::text AS destination, $2::inet <<= $3::cidr AS inside, family($2::inet) = 4 AND family($1::cidr) = 4 AS v4`,
        [r.destination, r.nexthop, cidr],
      );
      row = rows[0]!;
    } catch (error) {
      if (pgCode(error) === '22P02') throw new AsterError('InvalidInput', `${field}[${i}]: ${r.destination} via ${r.nexthop} is not a network and an address`, { cause: error });
      throw error;
    }
    if (!row.v4) throw new AsterError('InvalidInput', `${field}[${i}]: only IPv4 routes are supported`);
    if (!row.inside) throw new AsterError('InvalidInput', `${field}[${i}]: nexthop ${r.nexthop} is outside ${cidr}`);
    out.push({ destination: row.destination, nexthop: r.nexthop });
  }
  return out;
}

/** A subnet's plan, with `gateway: null` meaning none (planSubnet fills in the first host otherwise). */
export function planWithGateway(spec: Omit<SubnetSpec, 'gateway'> & { gateway?: string | null | undefined }): Omit<SubnetPlan, 'gateway'> & { gateway: string | null } {
  const plan = planSubnet({ ...spec, gateway: spec.gateway ?? undefined });
  return spec.gateway === null ? { ...plan, gateway: null } : plan;
}

/**
 * Adds a subnet to a network (locked by the caller): refused when it overlaps another subnet of the network.
 * The network's first DHCP subnet brings its metadata port (network:distributed), with an address of that subnet.
 */
export async function insertSubnet(
  client: PoolClient,
  network: { id: string; name: string; projectId: string | null },
  plan: Omit<SubnetPlan, 'gateway'> & { gateway: string | null },
  extra: { name?: string | undefined; hostRoutes?: HostRoute[] | undefined },
): Promise<string> {
  const { rows: overlap } = await client.query<{ cidr: string; name: string }>(
    `SELECT cidr::text AS cidr, name FROM subnets WHERE network_id = $1 AND cidr && $2::cidr ORDER BY created_at LIMIT 1`,
    [network.id, plan.cidr],
  );
  if (overlap[0]) {
    throw new AsterError('InvalidInput', `cidr ${plan.cidr} overlaps subnet ${overlap[0].name ? `${overlap[0].name} ` : ''}${overlap[0].cidr} of network ${network.name}`);
  }
  const hostRoutes = await checkHostRoutes(client, plan.cidr, extra.hostRoutes ?? []);
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO subnets (network_id, name, cidr, gateway, allocation_start, allocation_end, dns_servers, enable_dhcp, host_routes)
     VALUES ($1, $2, $3, $4, $5, $6, $7::inet[], $8, $9) RETURNING id`,
    [network.id, extra.name ?? '', plan.cidr, plan.gateway, plan.allocationStart, plan.allocationEnd, plan.dnsServers, plan.enableDhcp, JSON.stringify(hostRoutes)],
  );
  const id = rows[0]!.id;
  if (plan.enableDhcp) await ensureMetadataPort(client, network, id);
  return id;
}

/** The network's metadata port (one per network, by the partial unique index), on `subnetId` if it has none yet. */
export async function ensureMetadataPort(client: PoolClient, network: { id: string; projectId: string | null }, subnetId: string): Promise<void> {
  // External networks' DHCP is not OVN's (on `public`, libvirt's dnsmasq serves it): no metadata port there.
  const { rows } = await client.query(
    `SELECT 1 FROM networks n WHERE n.id = $1 AND (n.external OR EXISTS (SELECT 1 FROM ports p WHERE p.network_id = n.id AND p.device_owner = 'network:distributed'))`,
    [network.id],
  );
  if (rows.length) return;
  await insertPort(client, {
    networkId: network.id,
    subnetId,
    projectId: network.projectId,
    deviceOwner: 'network:distributed',
    deviceId: `ovnmeta-${network.id}`,
    portSecurityEnabled: false,
    status: 'ACTIVE',
  });
}

/** A network the caller may change, locked: its own project's, or any for an administrator. */
export async function networkForChange(client: Queryable, caller: Caller, id: string) {
  const { rows } = await client.query<{ id: string; name: string; project_id: string | null; shared: boolean; external: boolean }>(
    'SELECT id, name, project_id, shared, external FROM networks WHERE id = $1 FOR UPDATE',
    [id],
  );
  const n = rows[0];
  if (!n || (!caller.isAdmin && n.project_id !== caller.project.id && !n.shared && !n.external)) throw notFound('Network', id);
  if (!caller.isAdmin && n.project_id !== caller.project.id) {
    throw new AsterError('Forbidden', `Network ${n.name} belongs to another project; only that project or an administrator may change it`);
  }
  return { id: n.id, name: n.name, projectId: n.project_id, shared: n.shared, external: n.external };
}

export async function listSubnets(db: Queryable, caller: Caller, options: { allProjects?: boolean; networkId?: string } = {}): Promise<SubnetView[]> {
  const scope = options.allProjects && caller.isAdmin ? { all: true as const } : { projectId: caller.project.id };
  const nets = await loadNetworks(db, scope, options.networkId ? [options.networkId] : undefined);
  return nets.flatMap((n) => n.subnets);
}

export async function getSubnet(db: Queryable, caller: Caller, id: string): Promise<SubnetView> {
  if (!isUuid(id)) throw notFound('Subnet', id);
  const { rows } = await db.query<{ network_id: string }>('SELECT network_id FROM subnets WHERE id = $1', [id]);
  const scope = caller.isAdmin ? { all: true as const } : { projectId: caller.project.id };
  const found = rows[0] && (await loadNetworks(db, scope, [rows[0].network_id]))[0]?.subnets.find((s) => s.id === id);
  if (!found) throw notFound('Subnet', id);
  return found;
}

export async function createSubnet(ctx: Context, caller: Caller, input: z.infer<typeof subnetCreateInput>): Promise<SubnetView> {
  const plan = planWithGateway(input);
  const id = await transaction(ctx.db, async (client) => {
    const network = await networkForChange(client, caller, input.networkId);
    if (network.projectId) await enforceQuota(client, network.projectId, { subnets: 1 }, ctx.config.quotaDefaults);
    const id = await insertSubnet(client, network, plan, { name: input.name, hostRoutes: input.hostRoutes });
    await announce(ctx, client, { kind: 'subnet', id, projectId: network.projectId }, `subnet ${plan.cidr} created on network ${network.name}`);
    return id;
  });
  return getSubnet(ctx.db, { ...caller, isAdmin: true }, id);
}

export async function updateSubnet(ctx: Context, caller: Caller, input: z.infer<typeof subnetUpdateInput>): Promise<SubnetView> {
  const current = await getSubnet(ctx.db, caller, input.id);
  await transaction(ctx.db, async (client) => {
    const network = await networkForChange(client, caller, current.networkId);
    if (input.gateway !== undefined && input.gateway !== null) {
      // Checked as planSubnet checks it: inside, not the network or broadcast address, outside the allocation range.
      planSubnet({ cidr: current.cidr, gateway: input.gateway, allocationStart: current.allocationStart, allocationEnd: current.allocationEnd });
    }
    if (input.dnsServers) planSubnet({ cidr: current.cidr, gateway: current.gateway ?? undefined, allocationStart: current.allocationStart, allocationEnd: current.allocationEnd, dnsServers: input.dnsServers });
    const routes = input.hostRoutes ? await checkHostRoutes(client, current.cidr, input.hostRoutes) : null;
    if (input.gateway !== undefined) {
      const { rows } = await client.query(`SELECT 1 FROM ports WHERE subnet_id = $1 AND device_owner = 'network:router_interface'`, [input.id]);
      if (rows.length) throw new AsterError('Conflict', `subnet ${current.cidr} is on a router: remove the router interface before changing its gateway`);
    }
    await client.query(
      `UPDATE subnets SET name = COALESCE($2, name), gateway = CASE WHEN $3 THEN $4::inet ELSE gateway END,
              dns_servers = COALESCE($5::inet[], dns_servers), host_routes = COALESCE($6::jsonb, host_routes),
              enable_dhcp = COALESCE($7, enable_dhcp), updated_at = now() WHERE id = $1`,
      [input.id, input.name ?? null, input.gateway !== undefined, input.gateway ?? null, input.dnsServers ?? null, routes ? JSON.stringify(routes) : null, input.enableDhcp ?? null],
    );
    if (input.enableDhcp) await ensureMetadataPort(client, network, input.id);
    await announce(ctx, client, { kind: 'subnet', id: input.id, projectId: network.projectId }, `subnet ${current.cidr} updated`);
  });
  return getSubnet(ctx.db, { ...caller, isAdmin: true }, input.id);
}

/** Describes the ports that hold something, for refusals: "server web-1, router r1 interface, floating IP 1.2.3.4". */
export async function portHolders(db: Queryable, where: string, values: unknown[]): Promise<string[]> {
  const { rows } = await db.query<{ what: string }>(
    `SELECT CASE
              WHEN p.device_owner LIKE 'compute:%' THEN 'server ' || COALESCE(i.name, p.device_id)
              WHEN p.device_owner = 'network:router_interface' THEN 'router ' || COALESCE(r.name, p.device_id) || ' interface'
              WHEN p.device_owner = 'network:router_gateway' THEN 'router ' || COALESCE(r.name, p.device_id) || ' gateway'
              WHEN p.device_owner = 'network:floatingip' THEN 'floating IP ' || host(p.ip)
              ELSE 'port ' || CASE WHEN p.name <> '' THEN p.name ELSE p.id::text END
            END AS what
       FROM ports p LEFT JOIN instances i ON i.id = p.instance_id LEFT JOIN routers r ON r.id = p.router_id
      WHERE ${where} AND p.device_owner <> 'network:distributed'
      ORDER BY 1`,
    values,
  );
  return rows.map((r) => r.what);
}

export async function deleteSubnet(ctx: Context, caller: Caller, id: string): Promise<void> {
  const current = await getSubnet(ctx.db, caller, id);
  await transaction(ctx.db, async (client) => {
    const network = await networkForChange(client, caller, current.networkId);
    const held = await portHolders(client, 'p.subnet_id = $1', [id]);
    if (held.length) throw new AsterError('Conflict', `subnet ${current.cidr} has ${plural(held.length, 'port')}: ${listed(held)}`);
    await client.query(`DELETE FROM ports WHERE subnet_id = $1 AND device_owner = 'network:distributed'`, [id]);
    await client.query('DELETE FROM subnets WHERE id = $1', [id]);
    // The metadata port moves to another DHCP subnet of the network, if there is one.
    const { rows } = await client.query<{ id: string }>(`SELECT id FROM subnets WHERE network_id = $1 AND enable_dhcp ORDER BY created_at LIMIT 1`, [network.id]);
    if (rows[0]) await ensureMetadataPort(client, network, rows[0].id);
    await announce(ctx, client, { kind: 'subnet', id, projectId: network.projectId, deleted: true }, `subnet ${current.cidr} deleted`);
  });
}
