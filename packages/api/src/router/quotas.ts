import { transaction, type Queryable } from '@aster/db';
import { z } from 'zod';
import { projectUsage, quotaLimits, quotaResources, UNLIMITED, type QuotaLimits } from '../compute/quotas.ts';
import { AsterError } from '../errors.ts';
import { findProject } from '../identity/lookup.ts';
import { projectRef, ref } from '../schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

/** One number per quota resource; -1 is unlimited. */
export const quotaNumbers = z.object({
  instances: z.number(),
  cores: z.number(),
  ramMb: z.number(),
  keypairs: z.number(),
  serverGroups: z.number(),
  /** Per server group: the most servers one group may hold. */
  serverGroupMembers: z.number(),
  networks: z.number(),
  subnets: z.number(),
  ports: z.number(),
  routers: z.number(),
  floatingIps: z.number(),
  securityGroups: z.number(),
  securityGroupRules: z.number(),
});
/** What can be counted for one caller: members are counted per group, so they have no one usage. */
export const countedNumbers = quotaNumbers.omit({ serverGroupMembers: true });
const projectUsageNumbers = quotaNumbers.omit({ keypairs: true, serverGroupMembers: true });
const projectQuota = z.object({ project: ref, limits: quotaNumbers, usage: projectUsageNumbers });

const limitValue = z
  .int({ error: 'must be a whole number, or -1 for unlimited' })
  .min(UNLIMITED, 'must be at least 0, or -1 for unlimited')
  .max(2147483647, 'must be at most 2147483647')
  .nullable();
const limitsInput = z
  .strictObject(
    {
      instances: limitValue.optional(),
      cores: limitValue.optional(),
      ramMb: limitValue.optional(),
      keypairs: limitValue.optional(),
      serverGroups: limitValue.optional(),
      serverGroupMembers: limitValue.optional(),
      networks: limitValue.optional(),
      subnets: limitValue.optional(),
      ports: limitValue.optional(),
      routers: limitValue.optional(),
      floatingIps: limitValue.optional(),
      securityGroups: limitValue.optional(),
      securityGroupRules: limitValue.optional(),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown quota ${issue.keys.join(', ')}; quotas are ${quotaResources.join(', ')}` : undefined) },
  )
  .refine((limits) => Object.values(limits).some((v) => v !== undefined), `name at least one of ${quotaResources.join(', ')}`);

async function projectQuotaOf(db: Queryable, project: { id: string; name: string }, defaults: QuotaLimits) {
  return {
    project: { id: project.id, name: project.name },
    limits: await quotaLimits(db, project.id, defaults),
    usage: await projectUsage(db, project.id),
  };
}

/**
 * Project quotas (Nova's os-quota-sets): limits over the configured defaults, and what is in use.
 * Key pairs are counted per user, so `usage` here has no key pair count; `limits.get` shows the caller's.
 */
export const quotasRouter = router({
  /** Your own project's; a cloud administrator's for any project, by name or id. */
  get: authedProcedure
    .input(z.object({ project: projectRef.optional() }).default({}))
    .output(projectQuota)
    .query(async ({ ctx, input }) => {
      const { auth } = ctx;
      const own = auth.project;
      const asked = input.project;
      const isOwn = !asked || asked.toLowerCase() === own.id || asked.toLowerCase() === own.name.toLowerCase();
      if (!isOwn && !auth.isAdmin) {
        // Said before any lookup, so that the answer does not tell which projects exist.
        throw new AsterError('Forbidden', `Only a cloud administrator may see the quotas of another project; your token is for project ${own.name}`);
      }
      const project = isOwn ? own : await findProject(ctx.db, asked);
      return projectQuotaOf(ctx.db, project, ctx.config.quotaDefaults);
    }),

  /**
   * Sets some limits of a project; null puts one back to the default. A limit below current usage is
   * allowed: nothing is taken away, but nothing more can be created until usage falls below it.
   */
  set: authedProcedure
    .input(z.object({ project: projectRef, limits: limitsInput }))
    .output(projectQuota)
    .mutation(async ({ ctx, input }) =>
      transaction(ctx.db, async (client) => {
        const project = await findProject(client, input.project);
        for (const resource of quotaResources) {
          const value = input.limits[resource];
          if (value === undefined) continue;
          if (value === null) {
            await client.query('DELETE FROM quotas WHERE project_id = $1 AND resource = $2', [project.id, resource]);
          } else {
            await client.query(
              `INSERT INTO quotas (project_id, resource, hard_limit) VALUES ($1, $2, $3)
               ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = EXCLUDED.hard_limit`,
              [project.id, resource, value],
            );
          }
        }
        return projectQuotaOf(client, project, ctx.config.quotaDefaults);
      }),
    ),
});

