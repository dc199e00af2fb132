import { transaction } from '@aster/db';
import { z } from 'zod';
import { enforceQuota } from '../compute/quotas.ts';
import { AsterError } from '../errors.ts';
import { groupPolicies, listServerGroups, serverGroup, visibleServerGroup } from '../scheduling/serverGroups.ts';
import { id } from '../schemas.ts';
import { serverName } from '../servers/create.schema.ts';
import { authedProcedure, router } from '../trpc.ts';

const createInput = z.object({
  name: serverName,
  policy: z.enum(groupPolicies, { error: `must be one of ${groupPolicies.join(', ')}` }),
  maxServerPerHost: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1000, 'must be at most 1000').optional(),
});

/** Server groups (Nova's os-server-groups): servers placed together or apart by policy. */
export const serverGroupsRouter = router({
  create: authedProcedure
    .input(createInput)
    .output(serverGroup)
    .mutation(async ({ ctx, input }) => {
      const { auth } = ctx;
      if (input.maxServerPerHost !== undefined && input.policy !== 'anti-affinity') {
        throw new AsterError('InvalidInput', `Invalid input: maxServerPerHost is for anti-affinity groups only, not ${input.policy}`);
      }
      const groupId = await transaction(ctx.db, async (client) => {
        await enforceQuota(client, auth.project.id, { serverGroups: 1 }, ctx.config.quotaDefaults);
        const { rows } = await client.query<{ id: string }>(
          'INSERT INTO server_groups (project_id, user_id, name, policy, max_server_per_host) VALUES ($1, $2, $3, $4, $5) RETURNING id',
          [auth.project.id, auth.user.id, input.name, input.policy, input.maxServerPerHost ?? null],
        );
        return rows[0]!.id;
      });
      return visibleServerGroup(ctx.db, auth, groupId);
    }),

  list: authedProcedure
    .input(z.object({ allProjects: z.boolean().default(false) }).default({ allProjects: false }))
    .output(z.array(serverGroup))
    .query(({ ctx, input }) => listServerGroups(ctx.db, ctx.auth, input.allProjects)),

  get: authedProcedure
    .input(z.object({ id }))
    .output(serverGroup)
    .query(({ ctx, input }) => visibleServerGroup(ctx.db, ctx.auth, input.id)),

  /** Members simply leave the group (Nova allows deleting a group with members). */
  delete: authedProcedure
    .input(z.object({ id }))
    .output(z.object({ id: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const group = await visibleServerGroup(ctx.db, ctx.auth, input.id);
      await ctx.db.query('DELETE FROM server_groups WHERE id = $1', [group.id]);
      return { id: group.id };
    }),
});
