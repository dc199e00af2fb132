import { z } from 'zod';
import { AsterError } from '../errors.ts';
import { serviceStatus } from '../services/registry.ts';
import { id, isoDate, toIsoOrNull } from '../schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

const service = z.object({
  id: z.string(),
  host: z.string(),
  binary: z.string(),
  status: z.enum(['up', 'down']),
  state: z.enum(['enabled', 'disabled']),
  disabledReason: z.string().nullable(),
  lastSeenAt: isoDate.nullable(),
  stoppedAt: isoDate.nullable(),
  /** An operator said the host is dead: it shows down and takes no builds, whatever its heartbeat says. */
  forcedDown: z.boolean(),
});
type Row = {
  id: string;
  host: string;
  binary_name: string;
  disabled: boolean;
  disabled_reason: string | null;
  last_seen_at: Date | null;
  stopped_at: Date | null;
  forced_down: boolean;
};

export const servicesRouter = router({
  /** Every registered role of every process, up or down by its last heartbeat. */
  list: authedProcedure.output(z.array(service)).query(async ({ ctx }) => {
    const { rows } = await ctx.db.query<Row>('SELECT * FROM services ORDER BY binary_name, host');
    const now = ctx.now();
    return rows.map((r) => ({
      id: r.id,
      host: r.host,
      binary: r.binary_name,
      status: r.forced_down ? ('down' as const) : serviceStatus(r, now, ctx.config.serviceDownSeconds),
      state: r.disabled ? ('disabled' as const) : ('enabled' as const),
      disabledReason: r.disabled_reason,
      lastSeenAt: toIsoOrNull(r.last_seen_at),
      stoppedAt: toIsoOrNull(r.stopped_at),
      forcedDown: r.forced_down,
    }));
  }),

  /** Takes a service out of rotation, with a reason other operators will read. */
  disable: authedProcedure
    .input(z.object({ id, reason: z.string().trim().min(1, 'say why the service is disabled').max(255) }))
    .output(z.object({ id: z.string(), state: z.literal('disabled') }))
    .mutation(async ({ ctx, input }) => {
      const { rowCount } = await ctx.db.query('UPDATE services SET disabled = true, disabled_reason = $2 WHERE id = $1', [input.id, input.reason]);
      if (!rowCount) throw new AsterError('NotFound', `Service ${input.id} not found`);
      return { id: input.id, state: 'disabled' as const };
    }),

  enable: authedProcedure
    .input(z.object({ id }))
    .output(z.object({ id: z.string(), state: z.literal('enabled') }))
    .mutation(async ({ ctx, input }) => {
      const { rowCount } = await ctx.db.query('UPDATE services SET disabled = false, disabled_reason = NULL WHERE id = $1', [input.id]);
      if (!rowCount) throw new AsterError('NotFound', `Service ${input.id} not found`);
      return { id: input.id, state: 'enabled' as const };
    }),

  /**
   * Marks a compute host dead (or alive again) without waiting for its heartbeat to age (Nova's forced_down),
   * as fencing tools do before evacuating it. Only compute services take builds, so only they can be forced down.
   */
  forceDown: authedProcedure
    .input(z.object({ id, forcedDown: z.boolean() }))
    .output(z.object({ id: z.string(), forcedDown: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      const { rows } = await ctx.db.query<{ host: string; binary_name: string }>('SELECT host, binary_name FROM services WHERE id = $1', [input.id]);
      const s = rows[0];
      if (!s) throw new AsterError('NotFound', `Service ${input.id} not found`);
      if (s.binary_name !== 'aster-compute') {
        throw new AsterError('InvalidInput', `Service ${s.binary_name} on ${s.host} is not a compute service; only aster-compute services can be forced down`);
      }
      await ctx.db.query('UPDATE services SET forced_down = $2 WHERE id = $1', [input.id, input.forcedDown]);
      return { id: input.id, forcedDown: input.forcedDown };
    }),
});
