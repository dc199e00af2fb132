import { transaction } from '@aster/db';
import { z } from 'zod';
import { AsterError } from '../errors.ts';
import { countCloudAdmins, findProject, findUser } from '../identity/lookup.ts';
import { id, isoDate, projectRef, role, toIso } from '../schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

const assignment = z.object({
  user: z.object({ id: z.string(), name: z.string() }),
  project: z.object({ id: z.string(), name: z.string() }),
  role,
  createdAt: isoDate,
});
const grantInput = z.object({ userId: id, project: projectRef, role });

type Row = { user_id: string; user_name: string; project_id: string; project_name: string; role: z.infer<typeof role>; created_at: Date };
const toAssignment = (r: Row) => ({
  user: { id: r.user_id, name: r.user_name },
  project: { id: r.project_id, name: r.project_name },
  role: r.role,
  createdAt: toIso(r.created_at),
});
const SELECT = `SELECT ra.user_id, u.name AS user_name, ra.project_id, p.name AS project_name, ra.role, ra.created_at
  FROM role_assignments ra JOIN users u ON u.id = ra.user_id JOIN projects p ON p.id = ra.project_id`;

export const roleAssignmentsRouter = router({
  list: authedProcedure
    .input(z.object({ userId: id.optional(), project: projectRef.optional() }).default({}))
    .output(z.array(assignment))
    .query(async ({ ctx, input }) => {
      const projectId = input.project ? (await findProject(ctx.db, input.project)).id : null;
      const { rows } = await ctx.db.query<Row>(
        `${SELECT} WHERE ($1::uuid IS NULL OR ra.user_id = $1) AND ($2::uuid IS NULL OR ra.project_id = $2)
         ORDER BY p.name, u.name, ra.role`,
        [input.userId ?? null, projectId],
      );
      return rows.map(toAssignment);
    }),

  /** Idempotent: granting a role already held answers with the existing assignment. */
  grant: authedProcedure
    .input(grantInput)
    .output(assignment)
    .mutation(async ({ ctx, input }) => {
      const user = await findUser(ctx.db, input.userId);
      const project = await findProject(ctx.db, input.project);
      await ctx.db.query(
        'INSERT INTO role_assignments (user_id, project_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [user.id, project.id, input.role],
      );
      const { rows } = await ctx.db.query<Row>(`${SELECT} WHERE ra.user_id = $1 AND ra.project_id = $2 AND ra.role = $3`, [
        user.id,
        project.id,
        input.role,
      ]);
      return toAssignment(rows[0]!);
    }),

  /** Takes effect at once: tokens are checked against assignments on every call. */
  revoke: authedProcedure
    .input(grantInput)
    .output(z.object({ revoked: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      return transaction(ctx.db, async (db) => {
        const user = await findUser(db, input.userId);
        const project = await findProject(db, input.project);
        await db.query('LOCK TABLE role_assignments IN SHARE ROW EXCLUSIVE MODE');
        const { rowCount } = await db.query(
          'DELETE FROM role_assignments WHERE user_id = $1 AND project_id = $2 AND role = $3',
          [user.id, project.id, input.role],
        );
        if (!rowCount) {
          throw new AsterError('NotFound', `User ${user.name} does not hold role ${input.role} on project ${project.name}`);
        }
        if (project.is_admin && input.role === 'admin' && (await countCloudAdmins(db)) === 0) {
          throw new AsterError('InvalidState', `User ${user.name} is the last administrator of the admin project`);
        }
        return { revoked: true };
      });
    }),
});
