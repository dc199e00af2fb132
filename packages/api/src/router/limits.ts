import { z } from 'zod';
import { keypairUsage, quotaLimits, quotaUsage, remaining } from '../compute/quotas.ts';
import { ref } from '../schemas.ts';
import { authedProcedure, router } from '../trpc.ts';
import { countedNumbers, quotaNumbers } from './quotas.ts';

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
      const usage = { ...(await quotaUsage(ctx.db, project.id)), keypairs: await keypairUsage(ctx.db, user.id) };
      return { project: { id: project.id, name: project.name }, limits, usage, remaining: remaining(limits, usage) };
    }),
});
