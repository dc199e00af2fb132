import type { Queryable } from '@aster/db';
import { z } from 'zod';
import { serverStatus, statuses } from '@aster/compute';
import { loadNetworks } from '../compute/networks.ts';
import type { Caller } from './common.ts';
import { listFloatingIps } from './floatingIps.ts';
import { listPorts } from './ports.ts';
import { listRouters } from './routers.ts';
import { floatingIp, router as routerView } from './schemas.ts';

export const topology = z.object({
  networks: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      external: z.boolean(),
      shared: z.boolean(),
      mine: z.boolean(),
      subnets: z.array(z.object({ id: z.string(), cidr: z.string(), gateway: z.string().nullable() })),
    }),
  ),
  routers: z.array(routerView),
  servers: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      status: z.enum(statuses),
      ports: z.array(z.object({ id: z.string(), networkId: z.string(), subnetId: z.string(), ip: z.string(), status: z.string(), floatingIp: z.string().nullable() })),
    }),
  ),
  floatingIps: z.array(floatingIp),
});
export type Topology = z.infer<typeof topology>;

/** One read of what the topology page draws for the caller's project: nodes (networks, routers, servers) and what joins them. */
export async function networkTopology(db: Queryable, caller: Caller): Promise<Topology> {
  const [networks, routers, ports, floatingIps, servers] = await Promise.all([
    loadNetworks(db, { projectId: caller.project.id }),
    listRouters(db, caller),
    listPorts(db, caller),
    listFloatingIps(db, caller),
    db.query<{ id: string; name: string; vm_state: string; task_state: string | null }>(
      `SELECT id, name, vm_state, task_state FROM instances WHERE project_id = $1 AND deleted_at IS NULL ORDER BY created_at, id`,
      [caller.project.id],
    ),
  ]);
  return {
    networks: networks.map((n) => ({
      id: n.id,
      name: n.name,
      external: n.external,
      shared: n.shared,
      mine: n.projectId === caller.project.id,
      subnets: n.subnets.map((s) => ({ id: s.id, cidr: s.cidr, gateway: s.gateway })),
    })),
    routers,
    servers: servers.rows.map((s) => ({
      id: s.id,
      name: s.name,
      status: serverStatus(s.vm_state as Parameters<typeof serverStatus>[0], s.task_state as Parameters<typeof serverStatus>[1]),
      ports: ports
        .filter((p) => p.server?.id === s.id)
        .map((p) => ({ id: p.id, networkId: p.networkId, subnetId: p.subnetId, ip: p.ip, status: p.status, floatingIp: p.floatingIp?.ip ?? null })),
    })),
    floatingIps,
  };
}
