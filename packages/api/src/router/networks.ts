import { z } from 'zod';
import { loadNetworks } from '../compute/networks.ts';
import { AsterError } from '../errors.ts';
import { createNetworkFor, deleteNetworkFor, getNetwork, toNetwork, updateNetwork } from '../network/networks.ts';
import { explainConnectivity, explainInput, explanation } from '../network/explain.ts';
import { networkTopology, topology } from '../network/topology.ts';
import { watchNetworks } from '../network/watch.ts';
import { byId, deleted, network, networkCreateInput, networkUpdateInput } from '../network/schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

/** Networks (Neutron's): project, shared and external ones, with their subnets. */
export const networksRouter = router({
  /** The project's networks, the shared and the external ones; administrators may ask for every project's. */
  list: authedProcedure
    .input(z.object({ allProjects: z.boolean().default(false) }).optional())
    .output(z.array(network))
    .query(async ({ ctx, input }) => {
      if (input?.allProjects && !ctx.auth.isAdmin) {
        throw new AsterError('Forbidden', 'allProjects needs a cloud administrator (role admin on the admin project)');
      }
      const scope = input?.allProjects ? { all: true as const } : { projectId: ctx.auth.project.id };
      return (await loadNetworks(ctx.db, scope)).map(toNetwork);
    }),

  get: authedProcedure
    .input(byId)
    .output(network)
    .query(({ ctx, input }) => getNetwork(ctx, ctx.auth, input.id)),

  /** A network of the caller's project, with a first subnet if given; shared, external, provider and bridge settings are for administrators. */
  create: authedProcedure
    .input(networkCreateInput)
    .output(network)
    .mutation(({ ctx, input }) => createNetworkFor(ctx, ctx.auth, input)),

  update: authedProcedure
    .input(networkUpdateInput)
    .output(network)
    .mutation(({ ctx, input }) => updateNetwork(ctx, ctx.auth, input)),

  /** Refused while ports other than its metadata port are on it, naming what holds them; its subnets go with it. */
  delete: authedProcedure
    .input(byId)
    .output(deleted)
    .mutation(async ({ ctx, input }) => {
      await deleteNetworkFor(ctx, ctx.auth, input.id);
      return { id: input.id };
    }),

  /** What the topology page draws for the caller's project, in one read. */
  topology: authedProcedure.output(topology).query(({ ctx }) => networkTopology(ctx.db, ctx.auth)),

  /**
   * Why `from` can (or cannot) reach `to` with the first packet of a connection, in words, from OVN's own packet
   * tracing: the hop that decides (a security group, a missing router interface, a floating IP) and the path taken.
   */
  explainConnectivity: authedProcedure
    .input(explainInput)
    .output(explanation)
    .query(({ ctx, input }) => explainConnectivity(ctx, ctx.auth, input)),

  /** Every change of the network model the caller may see (its project's, shared and external objects), as it commits. */
  watch: authedProcedure.subscription(({ ctx, signal }) => watchNetworks(ctx, ctx.auth, signal)),
});
