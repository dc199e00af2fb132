import { z } from 'zod';
import { AsterError, isUniqueViolation } from '../errors.ts';
import { generateSecret, hashSecret } from '../identity/secrets.ts';
import { highestRole, satisfies } from '../roles.ts';
import { description, id, isoDate, name, ref, role, toIso, toIsoOrNull } from '../schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

const credential = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  role,
  project: ref,
  expiresAt: isoDate.nullable(),
  revokedAt: isoDate.nullable(),
  lastUsedAt: isoDate.nullable(),
  createdAt: isoDate,
});
type Row = {
  id: string;
  name: string;
  description: string;
  role: z.infer<typeof role>;
  project_id: string;
  project_name: string;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  created_at: Date;
};
const toCredential = (r: Row) => ({
  id: r.id,
  name: r.name,
  description: r.description,
  role: r.role,
  project: { id: r.project_id, name: r.project_name },
  expiresAt: toIsoOrNull(r.expires_at),
  revokedAt: toIsoOrNull(r.revoked_at),
  lastUsedAt: toIsoOrNull(r.last_used_at),
  createdAt: toIso(r.created_at),
});
const SELECT = `SELECT c.*, p.name AS project_name FROM app_credentials c JOIN projects p ON p.id = c.project_id`;

/**
 * Application credentials (Keystone's): for scripts, bound to the caller's user and current project,
 * carrying one role at most as high as the caller's own. The secret is shown once, at creation;
 * `auth.login({ credentialId, secret })` exchanges it for a token.
 */
export const credentialsRouter = router({
  list: authedProcedure.output(z.array(credential)).query(async ({ ctx }) => {
    const { rows } = await ctx.db.query<Row>(`${SELECT} WHERE c.user_id = $1 ORDER BY c.created_at`, [ctx.auth.user.id]);
    return rows.map(toCredential);
  }),

  create: authedProcedure
    .input(
      z.object({
        name,
        description: description.default(''),
        role: role.optional(),
        expiresAt: isoDate.optional(),
      }),
    )
    .output(credential.extend({ secret: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const { auth } = ctx;
      if (auth.credential) {
        throw new AsterError('Forbidden', 'An application credential cannot create application credentials; sign in with a password');
      }
      const wanted = input.role ?? highestRole(auth.roles)!;
      if (!satisfies(auth.roles, wanted)) {
        throw new AsterError('Forbidden', `You cannot give a credential role ${wanted}: you hold ${auth.roles.join(', ')} on project ${auth.project.name}`);
      }
      const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
      if (expiresAt && expiresAt.getTime() <= ctx.now().getTime()) {
        throw new AsterError('InvalidInput', 'expiresAt: must be in the future');
      }
      const secret = generateSecret('asc_');
      try {
        const { rows } = await ctx.db.query<{ id: string }>(
          `INSERT INTO app_credentials (user_id, project_id, name, description, role, secret_hash, expires_at, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
          [auth.user.id, auth.project.id, input.name, input.description, wanted, hashSecret(secret), expiresAt, ctx.now()],
        );
        const created = await ctx.db.query<Row>(`${SELECT} WHERE c.id = $1`, [rows[0]!.id]);
        return { ...toCredential(created.rows[0]!), secret };
      } catch (error) {
        if (isUniqueViolation(error)) throw new AsterError('Conflict', `You already have an application credential named ${input.name}`);
        throw error;
      }
    }),

  /** Revokes a credential and every token it issued. Administrators may revoke anyone's. */
  revoke: authedProcedure
    .input(z.object({ id }))
    .output(credential)
    .mutation(async ({ ctx, input }) => {
      const { auth } = ctx;
      const now = ctx.now();
      const { rows } = await ctx.db.query<Row>(
        `${SELECT} WHERE c.id = $1 AND ($2 OR c.user_id = $3)`,
        [input.id, auth.isAdmin, auth.user.id],
      );
      const found = rows[0];
      if (!found) throw new AsterError('NotFound', `Application credential ${input.id} not found`);
      if (found.revoked_at) throw new AsterError('InvalidState', `Application credential ${found.name} is already revoked`);
      await ctx.db.query('UPDATE app_credentials SET revoked_at = $2 WHERE id = $1', [input.id, now]);
      await ctx.db.query('UPDATE tokens SET revoked_at = $2 WHERE app_credential_id = $1 AND revoked_at IS NULL', [input.id, now]);
      return toCredential({ ...found, revoked_at: now });
    }),
});
