import { z } from 'zod';
import { keypairUsage, projectUsage, quotaLimits, remaining, usageHistory } from '../compute/quotas.ts';
import { isoDate, ref, toIso, toIsoOrNull } from '../schemas.ts';
import { authedProcedure, router } from '../trpc.ts';
import { countedNumbers, quotaNumbers } from './quotas.ts';

/** How far back limits.history reaches. */
const MAX_HISTORY_MS = 31 * 24 * 3600 * 1000;

/**
 * The caller's own limits (Nova's /limits): the current project's, with the caller's own key pairs
 * counted against `keypairs`. `remaining` is -1 where unlimited. `serverGroupMembers` is a limit per group,
 * so it has no usage here.
 */
export const limitsRouter = router({
  get: authedProcedure
    .output(z.object({ project: ref, limits: quotaNumbers, usage: countedNumbers, remaining: countedNumbers }))
    .query(async ({ ctx }) => {
      const { project, user } = ctx.auth;
      const limits = await quotaLimits(ctx.db, project.id, ctx.config.quotaDefaults);
      const usage = { ...(await projectUsage(ctx.db, project.id)), keypairs: await keypairUsage(ctx.db, user.id) };
      return { project: { id: project.id, name: project.name }, limits, usage, remaining: remaining(limits, usage) };
    }),

  /**
   * How the current project's servers held its quota since `since` (at most 31 days back): each server that
   * existed at some moment since, deleted ones included, with the vCPUs and RAM it counted and when it was
   * created and deleted. Usage at any moment since is the sum over the servers alive then; `until` is now.
   */
  history: authedProcedure
    .input(z.object({ since: isoDate }))
    .output(
      z.object({
        since: isoDate,
        until: isoDate,
        servers: z.array(z.object({ id: z.string(), vcpus: z.number(), ramMb: z.number(), createdAt: isoDate, deletedAt: isoDate.nullable() })),
        /** True when there were more servers than one answer holds (5000): only the oldest are listed. */
        truncated: z.boolean(),
      }),
    )
    .query(async ({ ctx, input }) => {
      const until = ctx.now();
      const since = new Date(Math.max(Date.parse(input.since), until.getTime() - MAX_HISTORY_MS));
      const { holdings, truncated } = await usageHistory(ctx.db, ctx.auth.project.id, since);
      return {
        since: toIso(since),
        until: toIso(until),
        servers: holdings.map((h) => ({ id: h.id, vcpus: h.vcpus, ramMb: h.ramMb, createdAt: toIso(h.createdAt), deletedAt: toIsoOrNull(h.deletedAt) })),
        truncated,
      };
    }),
});
