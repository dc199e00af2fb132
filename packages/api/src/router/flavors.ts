import { transaction, type Queryable } from '@aster/db';
import { z } from 'zod';
import { extraSpecProblems, findFlavor, maxExtraSpecs, toFlavor, visibleTo, type FlavorRow } from '../compute/flavors.ts';
import { AsterError, isUniqueViolation } from '../errors.ts';
import { findProject } from '../identity/lookup.ts';
import { description, id, isoDate, name, projectRef, ref } from '../schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

const flavor = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  vcpus: z.number(),
  ramMb: z.number(),
  diskGb: z.number(),
  isPublic: z.boolean(),
  extraSpecs: z.record(z.string(), z.string()),
  createdAt: isoDate,
});

const whole = (min: number, max: number) =>
  z
    .int({ error: 'must be a whole number' })
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

const specValue = z.string().max(255, 'must be at most 255 characters');
/** Keys are checked here rather than by a key schema, whose errors would not say what is wrong with the key. */
const specsOf = <V extends z.ZodType>(value: V) =>
  z.record(z.string(), value).superRefine((specs, check) => {
    const keys = Object.keys(specs);
    if (keys.length > maxExtraSpecs) check.addIssue({ code: 'custom', message: `must have at most ${maxExtraSpecs} entries, not ${keys.length}` });
    for (const key of keys) {
      if (!/^[A-Za-z0-9_.:-]{1,255}$/.test(key)) {
        check.addIssue({
          code: 'custom',
          path: [key],
          message: 'extra spec keys are 1 to 255 letters, digits and _ . : - (like hw:cpu_policy)',
        });
      }
    }
  });

const access = z.object({ flavor: ref, projects: z.array(ref) });
const accessInput = z.object({ id, project: projectRef });

function checkSpecs(specs: Record<string, string>): void {
  const problems = extraSpecProblems(specs);
  if (problems.length) throw new AsterError('InvalidInput', `extraSpecs: ${problems.join('; ')}`);
}

/** Access lists apply to private flavors only: a public one is usable by every project anyway. */
async function privateFlavor(db: Queryable, flavorId: string, lock = false): Promise<FlavorRow> {
  const found = await findFlavor(db, flavorId, lock);
  if (found.is_public) throw new AsterError('InvalidInput', `flavor ${found.name} is public; access lists apply to private flavors`);
  return found;
}

async function accessList(db: Queryable, f: FlavorRow) {
  const { rows } = await db.query<{ id: string; name: string }>(
    `SELECT p.id, p.name FROM flavor_access fa JOIN projects p ON p.id = fa.project_id
      WHERE fa.flavor_id = $1 ORDER BY p.name`,
    [f.id],
  );
  return { flavor: { id: f.id, name: f.name }, projects: rows };
}

/**
 * Flavors (Nova's): the sizes servers are launched with. Everyone sees the public ones and the private ones
 * shared with their project; administrators create, delete and share them. Servers keep their own copy of
 * the flavor, so deleting one changes no server.
 */
export const flavorsRouter = router({
  /** Ordered smallest first. Administrators see every flavor unless they ask for what their project sees. */
  list: authedProcedure
    .input(z.object({ includePrivate: z.boolean().optional() }).default({}))
    .output(z.array(flavor))
    .query(async ({ ctx, input }) => {
      const { auth } = ctx;
      if (input.includePrivate && !auth.isAdmin) {
        throw new AsterError('Forbidden', 'includePrivate: only a cloud administrator may list every private flavor');
      }
      const all = auth.isAdmin && input.includePrivate !== false;
      const { rows } = await ctx.db.query<FlavorRow>(
        `SELECT f.* FROM flavors f WHERE ${visibleTo('$1', '$2')} ORDER BY f.vcpus, f.ram_mb, f.name`,
        [auth.project.id, all],
      );
      return rows.map(toFlavor);
    }),

  get: authedProcedure
    .input(z.object({ id }))
    .output(flavor)
    .query(async ({ ctx, input }) => {
      const { rows } = await ctx.db.query<FlavorRow>(`SELECT f.* FROM flavors f WHERE f.id = $1 AND ${visibleTo('$2', '$3')}`, [
        input.id,
        ctx.auth.project.id,
        ctx.auth.isAdmin,
      ]);
      if (!rows[0]) throw new AsterError('NotFound', `Flavor ${input.id} not found`);
      return toFlavor(rows[0]);
    }),

  create: authedProcedure
    .input(
      z.object({
        name,
        description: description.default(''),
        vcpus: whole(1, 1024),
        ramMb: whole(1, 16777216),
        diskGb: whole(0, 1048576),
        isPublic: z.boolean().default(true),
        extraSpecs: specsOf(specValue).default({}),
      }),
    )
    .output(flavor)
    .mutation(async ({ ctx, input }) => {
      checkSpecs(input.extraSpecs);
      try {
        const { rows } = await ctx.db.query<FlavorRow>(
          `INSERT INTO flavors (name, description, vcpus, ram_mb, disk_gb, is_public, extra_specs, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
          [input.name, input.description, input.vcpus, input.ramMb, input.diskGb, input.isPublic, input.extraSpecs, ctx.now()],
        );
        return toFlavor(rows[0]!);
      } catch (error) {
        if (isUniqueViolation(error)) throw new AsterError('Conflict', `A flavor named ${input.name} already exists`);
        throw error;
      }
    }),

  delete: authedProcedure
    .input(z.object({ id }))
    .output(z.object({ id: z.string(), name: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const { rows } = await ctx.db.query<{ name: string }>('DELETE FROM flavors WHERE id = $1 RETURNING name', [input.id]);
      if (!rows[0]) throw new AsterError('NotFound', `Flavor ${input.id} not found`);
      return { id: input.id, name: rows[0].name };
    }),

  /** Merges into the extra specs (a null value removes that key), or with `replace` sets exactly these. */
  setExtraSpecs: authedProcedure
    .input(
      z.object({
        id,
        extraSpecs: specsOf(specValue.nullable()),
        replace: z.boolean().default(false),
      }),
    )
    .output(flavor)
    .mutation(async ({ ctx, input }) => {
      const given = Object.entries(input.extraSpecs);
      const set = Object.fromEntries(given.filter((e): e is [string, string] => e[1] !== null));
      checkSpecs(set);
      return transaction(ctx.db, async (client) => {
        const found = await findFlavor(client, input.id, true);
        const merged = input.replace ? set : { ...found.extra_specs, ...set };
        for (const [key, value] of given) if (value === null) delete merged[key];
        const count = Object.keys(merged).length;
        if (count > maxExtraSpecs) {
          throw new AsterError('InvalidInput', `extraSpecs: flavor ${found.name} would have ${count} extra specs; at most ${maxExtraSpecs} are allowed`);
        }
        const { rows } = await client.query<FlavorRow>('UPDATE flavors SET extra_specs = $2 WHERE id = $1 RETURNING *', [input.id, merged]);
        return toFlavor(rows[0]!);
      });
    }),

  listAccess: authedProcedure
    .input(z.object({ id }))
    .output(access)
    .query(async ({ ctx, input }) => accessList(ctx.db, await privateFlavor(ctx.db, input.id))),

  /** Idempotent: sharing with a project that already has access changes nothing. */
  addAccess: authedProcedure
    .input(accessInput)
    .output(access)
    .mutation(async ({ ctx, input }) => {
      return transaction(ctx.db, async (client) => {
        // Locked so that a delete of the flavor waits for the answer rather than racing the insert.
        const found = await privateFlavor(client, input.id, true);
        const project = await findProject(client, input.project);
        await client.query('INSERT INTO flavor_access (flavor_id, project_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [found.id, project.id]);
        return accessList(client, found);
      });
    }),

  removeAccess: authedProcedure
    .input(accessInput)
    .output(access)
    .mutation(async ({ ctx, input }) => {
      const found = await privateFlavor(ctx.db, input.id);
      const project = await findProject(ctx.db, input.project);
      const { rowCount } = await ctx.db.query('DELETE FROM flavor_access WHERE flavor_id = $1 AND project_id = $2', [found.id, project.id]);
      if (!rowCount) throw new AsterError('NotFound', `Project ${project.name} has no access to flavor ${found.name}`);
      return accessList(ctx.db, found);
    }),
});
