import type { Auth, Context } from '../context.ts';
import { AsterError } from '../errors.ts';
import { updateFloatingIp } from '../network/floatingIps.ts';
import { visibleServer } from './actions.ts';
import type { InstanceRow } from '../compute/instances.ts';

// Nova's addFloatingIp / removeFloatingIp: conveniences over floatingIps.update that name a server, not a port
// (like Nova's, they do not look at the server's lock: the floating IP is what changes).

/** The floating IP `address` of the caller's project (an administrator: any project's). */
async function floatingIpAt(ctx: Context, auth: Auth, address: string) {
  const { rows } = await ctx.db.query<{ id: string; floating_network_id: string; network_name: string; port_id: string | null; instance_id: string | null }>(
    `SELECT f.id, f.floating_network_id, n.name AS network_name, f.port_id, p.instance_id
       FROM floating_ips f JOIN networks n ON n.id = f.floating_network_id LEFT JOIN ports p ON p.id = f.port_id
      WHERE host(f.floating_ip) = $1 AND ($2 OR f.project_id = $3)`,
    [address, auth.isAdmin, auth.project.id],
  );
  if (!rows[0]) throw new AsterError('NotFound', `Floating IP ${address} not found`);
  return rows[0];
}

/**
 * Associates the floating IP `address` with the server's first port (in the order its networks were asked for) whose network a
 * router joins to the floating IP's network; refused, saying why, when no port qualifies.
 */
export async function addFloatingIpToServer(ctx: Context, auth: Auth, input: { id: string; address: string }): Promise<InstanceRow> {
  const row = await visibleServer(ctx, auth, input.id);
  const fip = await floatingIpAt(ctx, auth, input.address);
  if (fip.instance_id === row.id) return row;
  const { rows: ports } = await ctx.db.query<{ id: string; ip: string; network_name: string; routed: boolean }>(
    `SELECT p.id, host(p.ip) AS ip, n.name AS network_name,
            EXISTS (SELECT 1 FROM routers r JOIN ports i ON i.router_id = r.id AND i.device_owner = 'network:router_interface' AND i.subnet_id = p.subnet_id
                     WHERE r.external_network_id = $2) AS routed
       FROM ports p JOIN networks n ON n.id = p.network_id JOIN instances i ON i.id = p.instance_id
      WHERE p.instance_id = $1 ORDER BY array_position(i.requested_networks, p.network_id), p.created_at, p.id`,
    [row.id, fip.floating_network_id],
  );
  if (!ports.length) throw new AsterError('InvalidState', `Server ${row.name} has no ports yet; add the floating IP once it is built`);
  const port = ports.find((p) => p.routed);
  if (!port) {
    const networks = [...new Set(ports.map((p) => p.network_name))].join(', ');
    throw new AsterError(
      'InvalidInput',
      `no router joins a network of server ${row.name} (${networks}) to ${fip.network_name}: add an interface on a router with a gateway on ${fip.network_name}`,
    );
  }
  await updateFloatingIp(ctx, auth, { id: fip.id, portId: port.id });
  return visibleServer(ctx, auth, row.id);
}

/** Disassociates the floating IP `address` from the server; refused when it is not the server's. */
export async function removeFloatingIpFromServer(ctx: Context, auth: Auth, input: { id: string; address: string }): Promise<InstanceRow> {
  const row = await visibleServer(ctx, auth, input.id);
  const fip = await floatingIpAt(ctx, auth, input.address);
  if (fip.instance_id !== row.id) throw new AsterError('Conflict', `Floating IP ${input.address} is not associated with server ${row.name}`);
  await updateFloatingIp(ctx, auth, { id: fip.id, portId: null });
  return visibleServer(ctx, auth, row.id);
}
