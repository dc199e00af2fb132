import type { PoolClient, Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';

export const networkQuotaResources = ['networks', 'subnets', 'ports', 'routers', 'floatingIps', 'securityGroups', 'securityGroupRules'] as const;
export type NetworkQuotaResource = (typeof networkQuotaResources)[number];
export const quotaResources = ['instances', 'cores', 'ramMb', 'keypairs', 'serverGroups', 'serverGroupMembers', ...networkQuotaResources] as const;
/** Neutron's default quotas. */
export const networkQuotaDefaults: Record<NetworkQuotaResource, number> = {
  networks: 100,
  subnets: 100,
  ports: 500,
  routers: 10,
  floatingIps: 50,
  securityGroups: 10,
  securityGroupRules: 100,
};
export type QuotaResource = (typeof quotaResources)[number];
/** A limit per resource; -1 is unlimited. */
export type QuotaLimits = Record<QuotaResource, number>;
/**
 * Instances, cores, memory and server groups are counted per project; key pairs belong to users; members are
 * counted per server group (Nova's server_group_members), so no one number of a project stands for them.
 */
export type ProjectUsage = Record<Exclude<QuotaResource, 'keypairs' | 'serverGroupMembers'>, number>;
/** What quotaUsage counts: the project's servers and server groups. */
export type ComputeUsage = Record<'instances' | 'cores' | 'ramMb' | 'serverGroups', number>;
/** What limits.get can count for its caller: everything but the per-group member limit. */
export type CountedResource = Exclude<QuotaResource, 'serverGroupMembers'>;

export const UNLIMITED = -1;

/** The project's limits: its own rows in `quotas` over the configured defaults. */
export async function quotaLimits(db: Queryable, projectId: string, defaults: QuotaLimits): Promise<QuotaLimits> {
  const { rows } = await db.query<{ resource: QuotaResource; hard_limit: number }>(
    'SELECT resource, hard_limit FROM quotas WHERE project_id = $1',
    [projectId],
  );
  return limitsOver(defaults, rows);
}

/** The configured defaults, with a project's own rows of `quotas` over them. */
function limitsOver(defaults: QuotaLimits, rows: { resource: QuotaResource; hard_limit: number }[]): QuotaLimits {
  const limits: QuotaLimits = { ...defaults };
  for (const row of rows) limits[row.resource] = row.hard_limit;
  return limits;
}

/** Live servers of the project, counted from their own copy of the flavor. */
export async function quotaUsage(db: Queryable, projectId: string, options: { excludeReservation?: string } = {}): Promise<ComputeUsage> {
  const { rows } = await db.query<{ instances: number; cores: number; ram_mb: number; server_groups: number }>(
    `SELECT count(*)::int AS instances,
            coalesce(sum((flavor->>'vcpus')::int), 0)::int AS cores,
            coalesce(sum((flavor->>'ramMb')::int), 0)::int AS ram_mb,
            (SELECT count(*)::int FROM server_groups WHERE project_id = $1) AS server_groups
       FROM instances WHERE project_id = $1 AND deleted_at IS NULL AND reservation_id IS DISTINCT FROM $2`,
    [projectId, options.excludeReservation ?? null],
  );
  const row = rows[0]!;
  return { instances: row.instances, cores: row.cores, ramMb: row.ram_mb, serverGroups: row.server_groups };
}

/**
 * The project's network objects, as Neutron counts them: its networks, subnets of its networks, its ports
 * (a router's gateway and a floating IP's port belong to no project), routers, floating IPs, groups and rules.
 */
export async function networkUsage(db: Queryable, projectId: string): Promise<Record<NetworkQuotaResource, number>> {
  const { rows } = await db.query<Record<NetworkQuotaResource, number>>(
    `SELECT (SELECT count(*)::int FROM networks WHERE project_id = $1) AS "networks",
            (SELECT count(*)::int FROM subnets s JOIN networks n ON n.id = s.network_id WHERE n.project_id = $1) AS "subnets",
            (SELECT count(*)::int FROM ports WHERE project_id = $1 AND device_owner <> 'network:distributed') AS "ports",
            (SELECT count(*)::int FROM routers WHERE project_id = $1) AS "routers",
            (SELECT count(*)::int FROM floating_ips WHERE project_id = $1) AS "floatingIps",
            (SELECT count(*)::int FROM security_groups WHERE project_id = $1) AS "securityGroups",
            (SELECT count(*)::int FROM security_group_rules WHERE project_id = $1) AS "securityGroupRules"`,
    [projectId],
  );
  return rows[0]!;
}

/** Everything counted per project: servers, groups and network objects. */
export async function projectUsage(db: Queryable, projectId: string): Promise<ProjectUsage> {
  return { ...(await quotaUsage(db, projectId)), ...(await networkUsage(db, projectId)) };
}

/** A server's hold on the project's quota: what it counts, and from when to when. */
export interface Holding {
  id: string;
  vcpus: number;
  ramMb: number;
  createdAt: Date;
  /** Null while the server exists. */
  deletedAt: Date | null;
}

/** The most holdings `usageHistory` reads; a project with more in its window is told it sees only these. */
export const MAX_HOLDINGS = 5000;

/**
 * Every server of the project that held quota at some moment since `since`, deleted ones included, counted as
 * quotaUsage counts them (from their own copy of the flavor): its usage at any moment since can be summed
 * from these (Nova's os-simple-tenant-usage answers the same question). Oldest first.
 */
export async function usageHistory(db: Queryable, projectId: string, since: Date): Promise<{ holdings: Holding[]; truncated: boolean }> {
  const { rows } = await db.query<{ id: string; vcpus: number; ram_mb: number; created_at: Date; deleted_at: Date | null }>(
    `SELECT id, (flavor->>'vcpus')::int AS vcpus, (flavor->>'ramMb')::int AS ram_mb, created_at, deleted_at
       FROM instances WHERE project_id = $1 AND (deleted_at IS NULL OR deleted_at >= $2)
      ORDER BY created_at, id LIMIT $3`,
    [projectId, since, MAX_HOLDINGS + 1],
  );
  const holdings = rows.slice(0, MAX_HOLDINGS).map((r) => ({ id: r.id, vcpus: r.vcpus, ramMb: r.ram_mb, createdAt: r.created_at, deletedAt: r.deleted_at }));
  return { holdings, truncated: rows.length > MAX_HOLDINGS };
}

export async function keypairUsage(db: Queryable, userId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM keypairs WHERE user_id = $1', [userId]);
  return rows[0]!.n;
}

/** What is left of each counted limit; -1 where unlimited. */
export function remaining(limits: QuotaLimits, usage: Record<CountedResource, number>): Record<CountedResource, number> {
  const left = {} as Record<CountedResource, number>;
  for (const r of Object.keys(usage) as CountedResource[]) left[r] = limits[r] === UNLIMITED ? UNLIMITED : Math.max(0, limits[r] - usage[r]);
  return left;
}

/** Live servers in a server group (a deleted server leaves its group). */
export async function groupMemberCount(db: Queryable, groupId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM server_group_members m JOIN instances i ON i.id = m.instance_id
      WHERE m.group_id = $1 AND i.deleted_at IS NULL`,
    [groupId],
  );
  return rows[0]!.n;
}

/**
 * Refuses adding `count` servers to a group when it would pass the project's serverGroupMembers limit. Call it
 * after enforceQuota in the same transaction, so the project lock taken there covers this count too. Members
 * already inserted under `excludeReservation` are not counted twice.
 */
export async function enforceGroupMembers(
  client: PoolClient,
  projectId: string,
  group: { id: string; name: string },
  count: number,
  defaults: QuotaLimits,
  options: { excludeReservation?: string } = {},
): Promise<void> {
  const limit = (await quotaLimits(client, projectId, defaults)).serverGroupMembers;
  if (limit === UNLIMITED) return;
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM server_group_members m JOIN instances i ON i.id = m.instance_id
      WHERE m.group_id = $1 AND i.deleted_at IS NULL AND i.reservation_id IS DISTINCT FROM $2`,
    [group.id, options.excludeReservation ?? null],
  );
  const used = rows[0]!.n;
  if (used + count <= limit) return;
  throw new AsterError(
    'QuotaExceeded',
    `Quota exceeded for serverGroupMembers: ${count} requested, server group ${group.name} has ${used} of ${limit} (${used + count - limit} over the limit)`,
  );
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
  // The project's limits come with the lock, in the same statement.
  const project = await client.query<{ limits: { resource: QuotaResource; hard_limit: number }[] }>(
    `SELECT ARRAY(SELECT json_build_object('resource', q.resource, 'hard_limit', q.hard_limit) FROM quotas q WHERE q.project_id = p.id) AS limits
       FROM projects p WHERE p.id = $1 FOR NO KEY UPDATE OF p`,
    [projectId],
  );
  if (!project.rowCount) throw new AsterError('NotFound', `Project ${projectId} not found`);
  // Members are counted per group, by enforceGroupMembers.
  const wanted = quotaResources.filter((r) => r !== 'serverGroupMembers' && (request[r] ?? 0) > 0);
  if (wanted.length === 0) return;
  if (wanted.includes('keypairs')) {
    if (!userId) throw new Error('enforceQuota: a key pair request needs the user it is for');
    await client.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [userId]);
  }
  const limits = limitsOver(defaults, project.rows[0]!.limits);
  const isNetwork = (r: QuotaResource) => (networkQuotaResources as readonly string[]).includes(r);
  const counted = wanted.some((r) => r !== 'keypairs' && !isNetwork(r) && limits[r] !== UNLIMITED);
  const countedNetwork = wanted.some((r) => isNetwork(r) && limits[r] !== UNLIMITED);
  const usage = {
    ...(counted ? await quotaUsage(client, projectId, options) : { instances: 0, cores: 0, ramMb: 0, serverGroups: 0 }),
    ...(countedNetwork ? await networkUsage(client, projectId) : { networks: 0, subnets: 0, ports: 0, routers: 0, floatingIps: 0, securityGroups: 0, securityGroupRules: 0 }),
    keypairs: userId && wanted.includes('keypairs') ? await keypairUsage(client, userId) : 0,
    serverGroupMembers: 0,
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
