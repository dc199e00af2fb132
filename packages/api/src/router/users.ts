import { transaction } from '@aster/db';
import { z } from 'zod';
import { AsterError, isUniqueViolation } from '../errors.ts';
import { countCloudAdmins, findProject, findUser } from '../identity/lookup.ts';
import { hashPassword, verifyPassword } from '../identity/passwords.ts';
import { assertNotLocked, recordFailure } from '../identity/throttle.ts';
import { revokeUserTokens } from '../identity/tokens.ts';
import { id, isoDate, name, password, projectRef, role, toIso } from '../schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

const assignment = z.object({ projectId: z.string(), projectName: z.string(), role });
const user = z.object({ id: z.string(), name: z.string(), enabled: z.boolean(), createdAt: isoDate, roles: z.array(assignment) });

export const usersRouter = router({
  list: authedProcedure.output(z.array(user)).query(async ({ ctx }) => {
    const { rows } = await ctx.db.query<{
      id: string;
      name: string;
      enabled: boolean;
      created_at: Date;
      roles: { projectId: string; projectName: string; role: z.infer<typeof role> }[];
    }>(
      `SELECT u.id, u.name, u.enabled, u.created_at,
              coalesce(json_agg(json_build_object('projectId', p.id, 'projectName', p.name, 'role', ra.role)
                                ORDER BY p.name, ra.role) FILTER (WHERE ra.role IS NOT NULL), '[]') AS roles
         FROM users u
         LEFT JOIN role_assignments ra ON ra.user_id = u.id
         LEFT JOIN projects p ON p.id = ra.project_id
        GROUP BY u.id ORDER BY u.name`,
    );
    return rows.map((r) => ({ id: r.id, name: r.name, enabled: r.enabled, createdAt: toIso(r.created_at), roles: r.roles }));
  }),

  /** Creates a user, optionally with a role (member by default) on one project. */
  create: authedProcedure
    .input(z.object({ name, password, project: projectRef.optional(), role: role.optional(), enabled: z.boolean().default(true) }))
    .output(z.object({ id: z.string(), name: z.string() }))
    .mutation(async ({ ctx, input }) => {
      if (input.role && !input.project) throw new AsterError('InvalidInput', 'role needs a project to hold it on');
      const hash = await hashPassword(input.password);
      return transaction(ctx.db, async (db) => {
        const project = input.project ? await findProject(db, input.project) : null;
        let created: { id: string; name: string };
        try {
          const { rows } = await db.query<{ id: string; name: string }>(
            'INSERT INTO users (name, password_hash, enabled) VALUES ($1, $2, $3) RETURNING id, name',
            [input.name, hash, input.enabled],
          );
          created = rows[0]!;
        } catch (error) {
          if (isUniqueViolation(error)) throw new AsterError('Conflict', `A user named ${input.name} already exists`);
          throw error;
        }
        if (project) {
          await db.query('INSERT INTO role_assignments (user_id, project_id, role) VALUES ($1, $2, $3)', [
            created.id,
            project.id,
            input.role ?? 'member',
          ]);
        }
        return created;
      });
    }),

  /** Renames, disables or enables a user. A disabled user's tokens stop working at once. */
  update: authedProcedure
    .input(z.object({ id, name: name.optional(), enabled: z.boolean().optional() }))
    .output(z.object({ id: z.string(), name: z.string(), enabled: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      if (input.enabled === false && input.id === ctx.auth.user.id) throw new AsterError('InvalidState', 'You cannot disable your own user');
      return transaction(ctx.db, async (db) => {
        await findUser(db, input.id);
        if (input.enabled === false) {
          await db.query('LOCK TABLE role_assignments IN SHARE ROW EXCLUSIVE MODE');
          if ((await countCloudAdmins(db, input.id)) === 0) {
            throw new AsterError('InvalidState', 'This user is the last administrator of the admin project and cannot be disabled');
          }
        }
        try {
          const { rows } = await db.query<{ id: string; name: string; enabled: boolean }>(
            `UPDATE users SET name = coalesce($2, name), enabled = coalesce($3, enabled) WHERE id = $1 RETURNING id, name, enabled`,
            [input.id, input.name ?? null, input.enabled ?? null],
          );
          return rows[0]!;
        } catch (error) {
          if (isUniqueViolation(error)) throw new AsterError('Conflict', `A user named ${input.name} already exists`);
          throw error;
        }
      });
    }),

  delete: authedProcedure
    .input(z.object({ id }))
    .output(z.object({ id: z.string() }))
    .mutation(async ({ ctx, input }) => {
      if (input.id === ctx.auth.user.id) throw new AsterError('InvalidState', 'You cannot delete your own user');
      return transaction(ctx.db, async (db) => {
        await findUser(db, input.id);
        await db.query('LOCK TABLE role_assignments IN SHARE ROW EXCLUSIVE MODE');
        if ((await countCloudAdmins(db, input.id)) === 0) {
          throw new AsterError('InvalidState', 'This user is the last administrator of the admin project and cannot be deleted');
        }
        await db.query('DELETE FROM users WHERE id = $1', [input.id]);
        return { id: input.id };
      });
    }),

  /**
   * Users change their own password by giving the current one (wrong guesses count towards the login
   * lock); administrators set other users' passwords. Every other token of that user is revoked.
   */
  setPassword: authedProcedure
    .input(z.object({ userId: id, password, currentPassword: z.string().max(1024).optional() }))
    .output(z.object({ id: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const { auth } = ctx;
      if (auth.credential) throw new AsterError('Forbidden', 'An application credential cannot change passwords; sign in with a password');
      const self = input.userId === auth.user.id;
      // Not revealing whether another user exists to someone who may not manage users.
      if (!self && !auth.isAdmin) throw new AsterError('NotFound', `User ${input.userId} not found`);
      const target = await findUser(ctx.db, input.userId);
      if (self) {
        // Even an administrator proves it is them: a stolen token alone must not take over the account.
        if (!input.currentPassword) throw new AsterError('InvalidInput', 'currentPassword: give your current password to change it');
        const now = ctx.now();
        await assertNotLocked(ctx.db, target.name, now);
        if (!(await verifyPassword(input.currentPassword, target.password_hash))) {
          await recordFailure(ctx.db, target.name, now, ctx.config);
          throw new AsterError('Forbidden', 'currentPassword is not your current password');
        }
      }
      const hash = await hashPassword(input.password);
      const now = ctx.now();
      await transaction(ctx.db, async (db) => {
        await db.query('UPDATE users SET password_hash = $2, password_changed_at = $3 WHERE id = $1', [target.id, hash, now]);
        await revokeUserTokens(db, target.id, now, self ? auth.tokenId : undefined);
      });
      return { id: target.id };
    }),
});
