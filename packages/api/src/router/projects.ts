import { transaction } from '@aster/db';
import { z } from 'zod';
import { AsterError, isUniqueViolation, notFound } from '../errors.ts';
import { description, id, isoDate, name, toIso } from '../schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

const project = z.object({ id: z.string(), name: z.string(), description: z.string(), isAdmin: z.boolean(), createdAt: isoDate });
type Row = { id: string; name: string; description: string; is_admin: boolean; created_at: Date };
const toProject = (r: Row) => ({ id: r.id, name: r.name, description: r.description, isAdmin: r.is_admin, createdAt: toIso(r.created_at) });

export const projectsRouter = router({
  /** Administrators see every project; others see the projects they hold a role on. */
  list: authedProcedure.output(z.array(project)).query(async ({ ctx }) => {
    const { rows } = ctx.auth.isAdmin
      ? await ctx.db.query<Row>('SELECT * FROM projects ORDER BY name')
      : await ctx.db.query<Row>(
          `SELECT * FROM projects p WHERE EXISTS
             (SELECT 1 FROM role_assignments ra WHERE ra.project_id = p.id AND ra.user_id = $1) ORDER BY name`,
          [ctx.auth.user.id],
        );
    return rows.map(toProject);
  }),

  create: authedProcedure
    .input(z.object({ name, description: description.default('') }))
    .output(project)
    .mutation(async ({ ctx, input }) => {
      try {
        const { rows } = await ctx.db.query<Row>(
          'INSERT INTO projects (name, description) VALUES ($1, $2) RETURNING *',
          [input.name, input.description],
        );
        return toProject(rows[0]!);
      } catch (error) {
        if (isUniqueViolation(error)) throw new AsterError('Conflict', `A project named ${input.name} already exists`);
        throw error;
      }
    }),

  delete: authedProcedure
    .input(z.object({ id }))
    .output(z.object({ id: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const { rows } = await ctx.db.query<Row>('SELECT * FROM projects WHERE id = $1', [input.id]);
      const found = rows[0];
      if (!found) throw notFound('Project', input.id);
      if (found.is_admin) throw new AsterError('InvalidState', 'The admin project cannot be deleted');
      await transaction(ctx.db, async (client) => {
        // Servers are the project's data: refused while any lives. Deleted servers' records (kept for their
        // action log) go with the project.
        const { rows: live } = await client.query<{ name: string }>(
          'SELECT name FROM instances WHERE project_id = $1 AND deleted_at IS NULL ORDER BY created_at FOR UPDATE',
          [input.id],
        );
        if (live.length > 0) {
          const names = live.slice(0, 5).map((r) => r.name).join(', ') + (live.length > 5 ? ', …' : '');
          throw new AsterError('InvalidState', `Project ${found.name} still has ${live.length} server${live.length === 1 ? '' : 's'} (${names}): delete ${live.length === 1 ? 'it' : 'them'} first`);
        }
        await client.query('DELETE FROM instances WHERE project_id = $1', [input.id]);
        await client.query('DELETE FROM projects WHERE id = $1', [input.id]);
      });
      return { id: input.id };
    }),
});
