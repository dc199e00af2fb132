import { z } from 'zod';
import { createPort, deletePort, getPort, listPorts, updatePort } from '../network/ports.ts';
import { byId, deleted, port, portCreateInput, portUpdateInput } from '../network/schemas.ts';
import { id } from '../schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

/** Ports: one fixed IP each; deviceOwner and deviceId are set by what holds the port, never by tenants. */
export const portsRouter = router({
  list: authedProcedure
    .input(z.object({ networkId: id.optional(), serverId: id.optional(), allProjects: z.boolean().default(false) }).optional())
    .output(z.array(port))
    .query(({ ctx, input }) =>
      listPorts(ctx.db, ctx.auth, {
        allProjects: input?.allProjects ?? false,
        ...(input?.networkId ? { networkId: input.networkId } : {}),
        ...(input?.serverId ? { serverId: input.serverId } : {}),
      }),
    ),
  get: authedProcedure
    .input(byId)
    .output(port)
    .query(({ ctx, input }) => getPort(ctx.db, ctx.auth, input.id)),
  create: authedProcedure
    .input(portCreateInput)
    .output(port)
    .mutation(({ ctx, input }) => createPort(ctx, ctx.auth, input)),
  update: authedProcedure
    .input(portUpdateInput)
    .output(port)
    .mutation(({ ctx, input }) => updatePort(ctx, ctx.auth, input)),
  delete: authedProcedure
    .input(byId)
    .output(deleted)
    .mutation(async ({ ctx, input }) => {
      await deletePort(ctx, ctx.auth, input.id);
      return { id: input.id };
    }),
});
