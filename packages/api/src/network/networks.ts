import { transaction } from '@aster/db';
import type { z } from 'zod';
import type { Context } from '../context.ts';
import { createNetworkIn, deleteNetworkIn, loadNetworks, type NetworkView } from '../compute/networks.ts';
import { enforceQuota } from '../compute/quotas.ts';
import { AsterError } from '../errors.ts';
import { toIso } from '../schemas.ts';
import { announce, needJobs, notFound, type Caller } from './common.ts';
import type { Network, networkCreateInput, networkUpdateInput } from './schemas.ts';
import { networkForChange } from './subnets.ts';

export const toNetwork = (n: NetworkView): Network => ({
  id: n.id,
  name: n.name,
  projectId: n.projectId,
  shared: n.shared,
  external: n.external,
  physicalNetwork: n.physicalNetwork,
  mtu: n.mtu,
  adminStateUp: n.adminStateUp,
  description: n.description,
  bridge: n.bridge,
  subnets: n.subnets,
  createdAt: toIso(n.createdAt),
});

export async function getNetwork(ctx: Context, caller: Caller, id: string): Promise<Network> {
  const scope = caller.isAdmin ? { all: true as const } : { projectId: caller.project.id };
  const [found] = await loadNetworks(ctx.db, scope, [id]);
  if (!found) throw notFound('Network', id);
  return toNetwork(found);
}

/** Shared, external, provider and host-bridge settings are for administrators (Neutron's policy). */
function adminOnly(caller: Caller, input: { shared?: boolean | undefined; external?: boolean | undefined; physicalNetwork?: string | undefined; bridge?: string | undefined }) {
  if (caller.isAdmin) return;
  if (input.shared) throw new AsterError('Forbidden', 'shared: only a cloud administrator may create a shared network');
  if (input.external) throw new AsterError('Forbidden', 'external: only a cloud administrator may make a network external');
  if (input.physicalNetwork !== undefined) throw new AsterError('Forbidden', 'physicalNetwork: only a cloud administrator may put a network on a physical network');
  if (input.bridge !== undefined) throw new AsterError('Forbidden', 'bridge: only a cloud administrator may choose the host bridge of a network');
}

export async function createNetworkFor(ctx: Context, caller: Caller, input: z.infer<typeof networkCreateInput>): Promise<Network> {
  adminOnly(caller, input);
  needJobs(ctx);
  const id = await transaction(ctx.db, async (client) => {
    await enforceQuota(client, caller.project.id, { networks: 1, subnets: input.subnet ? 1 : 0 }, ctx.config.quotaDefaults);
    const id = await createNetworkIn(client, {
      name: input.name,
      projectId: caller.project.id,
      shared: input.shared,
      bridge: input.bridge ?? null,
      external: input.external,
      physicalNetwork: input.physicalNetwork ?? null,
      mtu: input.mtu,
      adminStateUp: input.adminStateUp,
      description: input.description,
      subnet: input.subnet,
      subnetHostRoutes: input.subnet?.hostRoutes,
    });
    await announce(ctx, client, { kind: 'network', id, projectId: input.shared || input.external ? null : caller.project.id }, `network ${input.name} created`);
    return id;
  });
  return getNetwork(ctx, { ...caller, isAdmin: true }, id);
}

export async function updateNetwork(ctx: Context, caller: Caller, input: z.infer<typeof networkUpdateInput>): Promise<Network> {
  if (!caller.isAdmin && input.shared !== undefined) throw new AsterError('Forbidden', 'shared: only a cloud administrator may share or unshare a network');
  if (!caller.isAdmin && input.external !== undefined) throw new AsterError('Forbidden', 'external: only a cloud administrator may make a network external');
  needJobs(ctx);
  await transaction(ctx.db, async (client) => {
    const network = await networkForChange(client, caller, input.id);
    if (input.name && input.name.toLowerCase() !== network.name.toLowerCase()) {
      const { rows } = await client.query(
        `SELECT 1 FROM networks WHERE lower(name) = lower($1) AND id <> $2 AND (project_id IS NOT DISTINCT FROM $3 OR shared OR external)`,
        [input.name, input.id, network.projectId],
      );
      if (rows.length) throw new AsterError('Conflict', `There is already a network named ${input.name}`);
    }
    if (input.external === false) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM floating_ips WHERE floating_network_id = $1) + (SELECT count(*) FROM routers WHERE external_network_id = $1) AS n`,
        [input.id],
      );
      if (Number(rows[0]!.n) > 0) throw new AsterError('Conflict', `network ${network.name} holds floating IPs or router gateways; it must stay external`);
    }
    await client.query(
      `UPDATE networks SET name = COALESCE($2, name), description = COALESCE($3, description), shared = COALESCE($4, shared),
              external = COALESCE($5, external), mtu = COALESCE($6, mtu), admin_state_up = COALESCE($7, admin_state_up) WHERE id = $1`,
      [input.id, input.name ?? null, input.description ?? null, input.shared ?? null, input.external ?? null, input.mtu ?? null, input.adminStateUp ?? null],
    );
    await announce(ctx, client, { kind: 'network', id: input.id, projectId: network.projectId }, `network ${network.name} updated`);
  });
  return getNetwork(ctx, { ...caller, isAdmin: true }, input.id);
}

export async function deleteNetworkFor(ctx: Context, caller: Caller, id: string): Promise<void> {
  needJobs(ctx);
  await transaction(ctx.db, async (client) => {
    const network = await deleteNetworkIn(client, caller, id);
    await announce(ctx, client, { kind: 'network', id, projectId: network.project_id, deleted: true }, `network ${network.name} deleted`);
  });
}
