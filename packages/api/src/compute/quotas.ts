import type { PoolClient, Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';

export const quotaResources = ['instances', 'cores', 'ramMb', 'keypairs'] as const;
export type QuotaResource = (typeof quotaResources)[number];
/** A limit per resource; -1 is unlimited. */
export type QuotaLimits = Record<QuotaResource, number>;
/** Instances, cores and memory are counted per project; key pairs belong to users. */
export type ProjectUsage = Record<Exclude<QuotaResource, 'keypairs'>, number>;

export const UNLIMITED = -1;

/** The project's limits: its own rows in `quotas` over the configured defaults. */
export async function quotaLimits(db: Queryable, projectId: string, defaults: QuotaLimits): Promise<QuotaLimits> {
  const { rows } = await db.query<{ resource: QuotaResource; hard_limit: number }>(
    'SELECT resource, hard_limit FROM quotas WHERE project_id = $1',
    [projectId],
  );
  const limits: QuotaLimits = { ...defaults };
  for (const row of rows) limits[row.resource] = row.hard_limit;
  return limits;
}

/** Live servers of the project, counted from their own copy of the flavor. */
export async function quotaUsage(db: Queryable, projectId: string, options: { excludeReservation?: string } = {}): Promise<ProjectUsage> {
  const { rows } = await db.query<{ instances: number; cores: number; ram_mb: number }>(
    `SELECT count(*)::int AS instances,
            coalesce(sum((flavor->>'vcpus')::int), 0)::int AS cores,
            coalesce(sum((flavor->>'ramMb')::int), 0)::int AS ram_mb
       FROM instances WHERE project_id = $1 AND deleted_at IS NULL AND reservation_id IS DISTINCT FROM $2`,
    [projectId, options.excludeReservation ?? null],
  );
  const row = rows[0]!;
  return { instances: row.instances, cores: row.cores, ramMb: row.ram_mb };
}

export async function keypairUsage(db: Queryable, userId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM keypairs WHERE user_id = $1', [userId]);
  return rows[0]!.n;
}

/** What is left of each limit; -1 where unlimited. */
export function remaining(limits: QuotaLimits, usage: Record<QuotaResource, number>): QuotaLimits {
  const left = {} as QuotaLimits;
  for (const r of quotaResources) left[r] = limits[r] === UNLIMITED ? UNLIMITED : Math.max(0, limits[r] - usage[r]);
  return left;
}

/**
 * Refuses `request` with QuotaExceeded when it would take the project (and, for key pairs, the user)
 * over a limit, naming every resource over. Call it inside the transaction that then creates the
 * resources: it locks the project row (and the user row for key pairs) so that concurrent creates in one
 * project are checked one after the other and cannot together pass a limit. A caller that inserts its rows
 * first (to hold the lock only for the check and the commit) names their reservation in `excludeReservation`.
 */
export async function enforceQuota(
  client: PoolClient,
  projectId: string,
  request: Partial<Record<QuotaResource, number>>,
  defaults: QuotaLimits,
  userId?: string,
  options: { excludeReservation?: string } = {},
): Promise<void> {
  // NO KEY UPDATE serialises the checks without holding up inserts elsewhere that merely reference the project.
  const project = await client.query('SELECT 1 FROM projects WHERE id = $1 FOR NO KEY UPDATE', [projectId]);
  if (!project.rowCount) throw new AsterError('NotFound', `Project ${projectId} not found`);
  const wanted = quotaResources.filter((r) => (request[r] ?? 0) > 0);
  if (wanted.length === 0) return;
  if (wanted.includes('keypairs')) {
    if (!userId) throw new Error('enforceQuota: a key pair request needs the user it is for');
    await client.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [userId]);
  }
  const limits = await quotaLimits(client, projectId, defaults);
  const counted = wanted.some((r) => r !== 'keypairs' && limits[r] !== UNLIMITED);
  const usage = {
    ...(counted ? await quotaUsage(client, projectId, options) : { instances: 0, cores: 0, ramMb: 0 }),
    keypairs: userId && wanted.includes('keypairs') ? await keypairUsage(client, userId) : 0,
  };
  const over: string[] = [];
  for (const r of wanted) {
    const limit = limits[r];
    const asked = request[r] ?? 0;
    if (limit === UNLIMITED || usage[r] + asked <= limit) continue;
    over.push(`${r}: ${asked} requested, ${usage[r]} of ${limit} in use (${usage[r] + asked - limit} over the limit)`);
  }
  if (over.length) throw new AsterError('QuotaExceeded', `Quota exceeded for ${over.join('; ')}`);
}
