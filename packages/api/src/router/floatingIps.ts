import { z } from 'zod';
import { createFloatingIp, deleteFloatingIp, getFloatingIp, listFloatingIps, updateFloatingIp } from '../network/floatingIps.ts';
import { byId, deleted, floatingIp, floatingIpCreateInput, floatingIpUpdateInput, listInput } from '../network/schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

/** Floating IPs: allocated from an external network, associated with a port through a router, released. */
export const floatingIpsRouter = router({
  list: authedProcedure
    .input(listInput)
    .output(z.array(floatingIp))
    .query(({ ctx, input }) => listFloatingIps(ctx.db, ctx.auth, input?.allProjects ?? false)),
  get: authedProcedure
    .input(byId)
    .output(floatingIp)
    .query(({ ctx, input }) => getFloatingIp(ctx.db, ctx.auth, input.id)),
  create: authedProcedure
    .input(floatingIpCreateInput)
    .output(floatingIp)
    .mutation(({ ctx, input }) => createFloatingIp(ctx, ctx.auth, input)),
  /** `portId` associates, `portId: null` disassociates. */
  update: authedProcedure
    .input(floatingIpUpdateInput)
    .output(floatingIp)
    .mutation(({ ctx, input }) => updateFloatingIp(ctx, ctx.auth, input)),
  delete: authedProcedure
    .input(byId)
    .output(deleted)
    .mutation(async ({ ctx, input }) => {
      await deleteFloatingIp(ctx, ctx.auth, input.id);
      return { id: input.id };
    }),
});
