import { z } from 'zod';
import { zonesWithHosts } from '../scheduling/zones.ts';
import { authedProcedure, router } from '../trpc.ts';

const zone = z.object({
  name: z.string(),
  available: z.boolean(),
  /** Administrators only. */
  hosts: z
    .array(z.object({ host: z.string(), status: z.enum(['up', 'down']), state: z.enum(['enabled', 'disabled']), forcedDown: z.boolean() }))
    .optional(),
});

/** Availability zones (Nova's os-availability-zone): what a server may ask for at create, and whether it can go there. */
export const availabilityZonesRouter = router({
  list: authedProcedure.output(z.array(zone)).query(async ({ ctx }) => {
    const zones = await zonesWithHosts(ctx.db, ctx.config.defaultAvailabilityZone, ctx.now(), ctx.config.serviceDownSeconds);
    return zones.map((z) => (ctx.auth.isAdmin ? z : { name: z.name, available: z.available }));
  }),
});
