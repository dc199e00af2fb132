import { transaction } from '@aster/db';
import { z } from 'zod';
import { keyTypes, maxPublicKeyLength, md5FingerprintOfLine, parsePublicKey } from '../compute/keypairs.ts';
import { enforceQuota } from '../compute/quotas.ts';
import { AsterError, isUniqueViolation } from '../errors.ts';
import { isoDate, name, toIso } from '../schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

const keypair = z.object({
  name: z.string(),
  type: z.enum(keyTypes),
  fingerprint: z.string(),
  fingerprintMd5: z.string(),
  publicKey: z.string(),
  createdAt: isoDate,
});
type Row = { name: string; key_type: (typeof keyTypes)[number]; public_key: string; fingerprint: string; created_at: Date };
const toKeypair = (r: Row) => ({
  name: r.name,
  type: r.key_type,
  fingerprint: r.fingerprint,
  fingerprintMd5: md5FingerprintOfLine(r.public_key),
  publicKey: r.public_key,
  createdAt: toIso(r.created_at),
});
const COLUMNS = 'name, key_type, public_key, fingerprint, created_at';

/**
 * SSH key pairs (Nova's), each belonging to one user: a server launched with a key pair gets its public key
 * in its metadata. Only public keys are imported; the private half never reaches the cloud.
 */
export const keypairsRouter = router({
  list: authedProcedure.output(z.array(keypair)).query(async ({ ctx }) => {
    const { rows } = await ctx.db.query<Row>(`SELECT ${COLUMNS} FROM keypairs WHERE user_id = $1 ORDER BY name`, [ctx.auth.user.id]);
    return rows.map(toKeypair);
  }),

  get: authedProcedure
    .input(z.object({ name }))
    .output(keypair)
    .query(async ({ ctx, input }) => {
      const { rows } = await ctx.db.query<Row>(`SELECT ${COLUMNS} FROM keypairs WHERE user_id = $1 AND name = $2`, [ctx.auth.user.id, input.name]);
      if (!rows[0]) throw new AsterError('NotFound', `Key pair ${input.name} not found`);
      return toKeypair(rows[0]);
    }),

  /** Counts against the `keypairs` quota of the caller's current project, per user. */
  import: authedProcedure
    .input(z.object({ name, publicKey: z.string().max(maxPublicKeyLength, `must be at most ${maxPublicKeyLength} characters`) }))
    .output(keypair)
    .mutation(async ({ ctx, input }) => {
      const { auth } = ctx;
      const key = parsePublicKey(input.publicKey);
      try {
        return await transaction(ctx.db, async (client) => {
          await enforceQuota(client, auth.project.id, { keypairs: 1 }, ctx.config.quotaDefaults, auth.user.id);
          const { rows } = await client.query<Row>(
            `INSERT INTO keypairs (user_id, name, key_type, public_key, fingerprint, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
            [auth.user.id, input.name, key.type, key.normalized, key.fingerprint, ctx.now()],
          );
          return toKeypair(rows[0]!);
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new AsterError('Conflict', `You already have a key pair named ${input.name}`);
        throw error;
      }
    }),

  delete: authedProcedure
    .input(z.object({ name }))
    .output(z.object({ name: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const { rowCount } = await ctx.db.query('DELETE FROM keypairs WHERE user_id = $1 AND name = $2', [ctx.auth.user.id, input.name]);
      if (!rowCount) throw new AsterError('NotFound', `Key pair ${input.name} not found`);
      return { name: input.name };
    }),
});
