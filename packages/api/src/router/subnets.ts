import { z } from 'zod';
import { createSubnet, deleteSubnet, getSubnet, listSubnets, updateSubnet } from '../network/subnets.ts';
import { byId, deleted, subnet, subnetCreateInput, subnetUpdateInput } from '../network/schemas.ts';
import { id } from '../schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

/** Subnets: several per network, each with one allocation range; overlapping CIDRs are refused within a network only. */
export const subnetsRouter = router({
  list: authedProcedure
    .input(z.object({ networkId: id.optional(), allProjects: z.boolean().default(false) }).optional())
    .output(z.array(subnet))
    .query(({ ctx, input }) => listSubnets(ctx.db, ctx.auth, { allProjects: input?.allProjects ?? false, ...(input?.networkId ? { networkId: input.networkId } : {}) })),
  get: authedProcedure
    .input(byId)
    .output(subnet)
    .query(({ ctx, input }) => getSubnet(ctx.db, ctx.auth, input.id)),
  create: authedProcedure
    .input(subnetCreateInput)
    .output(subnet)
    .mutation(({ ctx, input }) => createSubnet(ctx, ctx.auth, input)),
  update: authedProcedure
    .input(subnetUpdateInput)
    .output(subnet)
    .mutation(({ ctx, input }) => updateSubnet(ctx, ctx.auth, input)),
  /** Refused while ports other than the network's metadata port are on it. */
  delete: authedProcedure
    .input(byId)
    .output(deleted)
    .mutation(async ({ ctx, input }) => {
      await deleteSubnet(ctx, ctx.auth, input.id);
      return { id: input.id };
    }),
});
