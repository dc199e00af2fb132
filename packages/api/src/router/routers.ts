import { z } from 'zod';
import { addInterface, createRouter, deleteRouter, getRouter, listRouters, removeInterface, updateRouter } from '../network/routers.ts';
import { byId, deleted, listInput, router as routerView, routerCreateInput, routerInterfaceInput, routerUpdateInput } from '../network/schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

/** Routers: an external gateway (with SNAT), interfaces on subnets, static routes. */
export const routersRouter = router({
  list: authedProcedure
    .input(listInput)
    .output(z.array(routerView))
    .query(({ ctx, input }) => listRouters(ctx.db, ctx.auth, input?.allProjects ?? false)),
  get: authedProcedure
    .input(byId)
    .output(routerView)
    .query(({ ctx, input }) => getRouter(ctx.db, ctx.auth, input.id)),
  create: authedProcedure
    .input(routerCreateInput)
    .output(routerView)
    .mutation(({ ctx, input }) => createRouter(ctx, ctx.auth, input)),
  /** `externalGateway: null` clears the gateway; `routes` replaces the static routes. */
  update: authedProcedure
    .input(routerUpdateInput)
    .output(routerView)
    .mutation(({ ctx, input }) => updateRouter(ctx, ctx.auth, input)),
  /** Refused while it has interfaces or floating IPs associated through it. */
  delete: authedProcedure
    .input(byId)
    .output(deleted)
    .mutation(async ({ ctx, input }) => {
      await deleteRouter(ctx, ctx.auth, input.id);
      return { id: input.id };
    }),
  addInterface: authedProcedure
    .input(routerInterfaceInput)
    .output(routerView)
    .mutation(({ ctx, input }) => addInterface(ctx, ctx.auth, input)),
  removeInterface: authedProcedure
    .input(routerInterfaceInput)
    .output(routerView)
    .mutation(({ ctx, input }) => removeInterface(ctx, ctx.auth, input)),
});
