import { z } from 'zod';
import { addRule, createSecurityGroup, deleteSecurityGroup, getSecurityGroup, listSecurityGroups, removeRule, updateSecurityGroup } from '../network/securityGroups.ts';
import { byId, deleted, listInput, ruleCreateInput, securityGroup, securityGroupCreateInput, securityGroupRule, securityGroupUpdateInput } from '../network/schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

/** Security groups and their rules (stateful); every project has `default`, made on first use. */
export const securityGroupsRouter = router({
  list: authedProcedure
    .input(listInput)
    .output(z.array(securityGroup))
    .query(({ ctx, input }) => listSecurityGroups(ctx.db, ctx.auth, input?.allProjects ?? false)),
  get: authedProcedure
    .input(byId)
    .output(securityGroup)
    .query(({ ctx, input }) => getSecurityGroup(ctx.db, ctx.auth, input.id)),
  create: authedProcedure
    .input(securityGroupCreateInput)
    .output(securityGroup)
    .mutation(({ ctx, input }) => createSecurityGroup(ctx, ctx.auth, input)),
  update: authedProcedure
    .input(securityGroupUpdateInput)
    .output(securityGroup)
    .mutation(({ ctx, input }) => updateSecurityGroup(ctx, ctx.auth, input)),
  /** Refused for `default` and for a group in use by a port, naming the ports' servers. */
  delete: authedProcedure
    .input(byId)
    .output(deleted)
    .mutation(async ({ ctx, input }) => {
      await deleteSecurityGroup(ctx, ctx.auth, input.id);
      return { id: input.id };
    }),
  addRule: authedProcedure
    .input(ruleCreateInput)
    .output(securityGroupRule)
    .mutation(({ ctx, input }) => addRule(ctx, ctx.auth, input)),
  removeRule: authedProcedure
    .input(byId)
    .output(deleted)
    .mutation(async ({ ctx, input }) => {
      await removeRule(ctx, ctx.auth, input.id);
      return { id: input.id };
    }),
});
