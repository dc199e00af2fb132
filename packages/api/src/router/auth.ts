import { z } from 'zod';
import { transaction } from '@aster/db';
import { AsterError } from '../errors.ts';
import { credentialLogin, passwordLogin, userProject } from '../identity/login.ts';
import { issueToken, revokeToken } from '../identity/tokens.ts';
import { role as roleSchema, ref, isoDate, projectRef } from '../schemas.ts';
import { authedProcedure, publicProcedure, router } from '../trpc.ts';

const loginInput = z.union([
  z.object({
    username: z.string().min(1, 'must not be empty').max(64),
    password: z.string().min(1, 'must not be empty').max(1024),
    project: projectRef.optional(),
  }),
  z.object({
    credentialId: z.string().min(1, 'must not be empty'),
    secret: z.string().min(1, 'must not be empty').max(256),
  }),
]);

const loginOutput = z.object({
  token: z.string(),
  expiresAt: isoDate,
  user: ref,
  project: ref,
  roles: z.array(roleSchema),
});

export const authRouter = router({
  /** A password, or an application credential's id and secret, for a bearer token. */
  login: publicProcedure
    .input(loginInput)
    .output(loginOutput)
    .mutation(async ({ ctx, input }) => {
      const now = ctx.now();
      const result =
        'credentialId' in input
          ? await credentialLogin(ctx.db, input, now, ctx.config)
          : await passwordLogin(ctx.db, input, now, ctx.config);
      ctx.log.info('login', { user: result.user.name, project: result.project.name, credential: 'credentialId' in input });
      return { ...result, expiresAt: result.expiresAt.toISOString() };
    }),

  /**
   * Trades the calling token for one scoped to another project the user holds a role on, expiring when the
   * old one would have (Keystone's rescoping). The old token is revoked. Not for application credentials,
   * which are bound to their project.
   */
  switchProject: authedProcedure
    .input(z.object({ project: projectRef }))
    .output(loginOutput)
    .mutation(async ({ ctx, input }) => {
      const { auth } = ctx;
      if (auth.credential) {
        throw new AsterError('Forbidden', `Application credential ${auth.credential.name} is bound to project ${auth.project.name}`);
      }
      const now = ctx.now();
      return transaction(ctx.db, async (db) => {
        const project = await userProject(db, auth.user, input.project, 'NotFound');
        const issued = await issueToken(db, { userId: auth.user.id, projectId: project.id, now, expiresAt: auth.expiresAt });
        await revokeToken(db, auth.tokenId, now);
        return {
          token: issued.token,
          expiresAt: issued.expiresAt.toISOString(),
          user: auth.user,
          project: { id: project.id, name: project.name },
          roles: project.roles,
        };
      });
    }),

  /** Revokes the token used for this call. */
  logout: authedProcedure.output(z.object({ revoked: z.boolean() })).mutation(async ({ ctx }) => {
    await revokeToken(ctx.db, ctx.auth.tokenId, ctx.now());
    return { revoked: true };
  }),

  whoami: authedProcedure
    .output(
      z.object({
        user: ref,
        project: ref,
        roles: z.array(roleSchema),
        isAdmin: z.boolean(),
        expiresAt: isoDate,
        credential: ref.nullable(),
        projects: z.array(ref.extend({ roles: z.array(roleSchema) })),
      }),
    )
    .query(async ({ ctx }) => {
      const { rows } = await ctx.db.query<{ id: string; name: string; roles: string[] }>(
        `SELECT p.id, p.name, array_agg(ra.role ORDER BY array_position(ARRAY['admin','member','reader'], ra.role)) AS roles
           FROM role_assignments ra JOIN projects p ON p.id = ra.project_id
          WHERE ra.user_id = $1 GROUP BY p.id, p.name ORDER BY p.name`,
        [ctx.auth.user.id],
      );
      const { auth } = ctx;
      return {
        user: auth.user,
        project: auth.project,
        roles: auth.roles,
        isAdmin: auth.isAdmin,
        expiresAt: auth.expiresAt.toISOString(),
        credential: auth.credential,
        projects: rows.map((r) => ({ id: r.id, name: r.name, roles: r.roles as z.infer<typeof roleSchema>[] })),
      };
    }),
});
