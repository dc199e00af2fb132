import { transaction, type Queryable } from '@aster/db';
import type { z } from 'zod';
import type { Context } from '../context.ts';
import { enforceQuota } from '../compute/quotas.ts';
import { AsterError, isUniqueViolation } from '../errors.ts';
import { toIso } from '../schemas.ts';
import { announce, isUuid, listed, needJobs, notFound, pgCode, plural, type Caller } from './common.ts';
import type { RuleCreateInput, SecurityGroup, SecurityGroupRule, securityGroupCreateInput, securityGroupUpdateInput } from './schemas.ts';

export const DEFAULT_GROUP = 'default';

/**
 * The project's `default` group, made on first use with Neutron's rules (all egress; ingress from members of
 * the group itself); answers its id. Concurrent first uses make one: the partial unique index decides, and the
 * loser reads the winner's row in a statement of its own (so its snapshot sees the commit it waited for).
 */
export async function ensureDefaultSecurityGroup(db: Queryable, projectId: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `WITH g AS (
       INSERT INTO security_groups (project_id, name, description) VALUES ($1, 'default', 'Default security group')
       ON CONFLICT (project_id) WHERE name = 'default' DO NOTHING RETURNING id),
     r AS (
       INSERT INTO security_group_rules (security_group_id, project_id, direction, ethertype, remote_group_id)
       SELECT id, $1, 'egress', 'IPv4', NULL FROM g UNION ALL SELECT id, $1, 'ingress', 'IPv4', id FROM g)
     SELECT id FROM g`,
    [projectId],
  );
  if (rows[0]) return rows[0].id;
  const { rows: found } = await db.query<{ id: string }>(`SELECT id FROM security_groups WHERE project_id = $1 AND name = 'default'`, [projectId]);
  return found[0]!.id;
}

type GroupRow = { id: string; project_id: string; name: string; description: string; stateful: boolean; created_at: Date; rules: RuleRow[] };
type RuleRow = {
  id: string;
  security_group_id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  description: string;
};
const toRule = (r: RuleRow): SecurityGroupRule => ({
  id: r.id,
  securityGroupId: r.security_group_id,
  direction: r.direction,
  ethertype: r.ethertype,
  protocol: r.protocol,
  portRangeMin: r.port_range_min,
  portRangeMax: r.port_range_max,
  remoteIpPrefix: r.remote_ip_prefix,
  remoteGroupId: r.remote_group_id,
  description: r.description,
});
const toGroup = (g: GroupRow): SecurityGroup => ({
  id: g.id,
  projectId: g.project_id,
  name: g.name,
  description: g.description,
  stateful: g.stateful,
  rules: g.rules.map(toRule),
  createdAt: toIso(g.created_at),
});

async function loadGroups(db: Queryable, where: string, values: unknown[]): Promise<SecurityGroup[]> {
  const { rows } = await db.query<GroupRow>(
    `SELECT g.*, COALESCE((SELECT json_agg(json_build_object('id', r.id, 'security_group_id', r.security_group_id, 'direction', r.direction,
                   'ethertype', r.ethertype, 'protocol', r.protocol, 'port_range_min', r.port_range_min, 'port_range_max', r.port_range_max,
                   'remote_ip_prefix', r.remote_ip_prefix::text, 'remote_group_id', r.remote_group_id, 'description', r.description)
                   ORDER BY r.created_at, r.id) FROM security_group_rules r WHERE r.security_group_id = g.id), '[]') AS rules
       FROM security_groups g WHERE ${where} ORDER BY g.created_at, g.name, g.id`,
    values,
  );
  return rows.map(toGroup);
}

export async function listSecurityGroups(db: Queryable, caller: Caller, allProjects = false): Promise<SecurityGroup[]> {
  if (allProjects && caller.isAdmin) return loadGroups(db, 'true', []);
  await ensureDefaultSecurityGroup(db, caller.project.id);
  return loadGroups(db, 'g.project_id = $1', [caller.project.id]);
}

export async function getSecurityGroup(db: Queryable, caller: Caller, id: string): Promise<SecurityGroup> {
  if (!isUuid(id)) throw notFound('Security group', id);
  const [g] = await loadGroups(db, 'g.id = $1 AND ($2 OR g.project_id = $3)', [id, caller.isAdmin, caller.project.id]);
  if (!g) throw notFound('Security group', id);
  return g;
}

/** A group the caller may change, locked (rules of one group are added one after the other). */
async function groupForChange(db: Queryable, caller: Caller, id: string) {
  if (!isUuid(id)) throw notFound('Security group', id);
  const { rows } = await db.query<{ id: string; name: string; project_id: string }>(
    'SELECT id, name, project_id FROM security_groups WHERE id = $1 AND ($2 OR project_id = $3) FOR UPDATE',
    [id, caller.isAdmin, caller.project.id],
  );
  if (!rows[0]) throw notFound('Security group', id);
  return rows[0];
}

/** Group names or ids of the project → ids, in order; `default` is made if asked and missing. */
export async function resolveSecurityGroups(db: Queryable, projectId: string, refs: string[]): Promise<string[]> {
  if (refs.some((r) => r.toLowerCase() === DEFAULT_GROUP)) await ensureDefaultSecurityGroup(db, projectId);
  const { rows } = await db.query<{ id: string; name: string }>('SELECT id, name FROM security_groups WHERE project_id = $1', [projectId]);
  const ids = refs.map((ref) => {
    const byId = rows.find((g) => g.id === ref.toLowerCase());
    if (byId) return byId.id;
    const named = rows.filter((g) => g.name === ref);
    if (named.length === 1) return named[0]!.id;
    if (named.length > 1) throw new AsterError('Conflict', `securityGroups: ${named.length} security groups are named ${ref}; name one by id`);
    throw new AsterError('NotFound', `securityGroups: no security group ${ref} in this project`);
  });
  return [...new Set(ids)];
}

export async function createSecurityGroup(ctx: Context, caller: Caller, input: z.infer<typeof securityGroupCreateInput>): Promise<SecurityGroup> {
  if (input.name.toLowerCase() === DEFAULT_GROUP) throw new AsterError('Conflict', 'name: every project has its own default group already; choose another name');
  needJobs(ctx);
  const id = await transaction(ctx.db, async (client) => {
    await ensureDefaultSecurityGroup(client, caller.project.id);
    const { rows: clash } = await client.query('SELECT 1 FROM security_groups WHERE project_id = $1 AND lower(name) = lower($2)', [caller.project.id, input.name]);
    if (clash.length) throw new AsterError('Conflict', `There is already a security group named ${input.name} in this project`);
    await enforceQuota(client, caller.project.id, { securityGroups: 1, securityGroupRules: 1 }, ctx.config.quotaDefaults);
    // Neutron gives a new group egress rules for any destination.
    const { rows } = await client.query<{ id: string }>(
      `WITH g AS (INSERT INTO security_groups (project_id, name, description, stateful) VALUES ($1, $2, $3, $4) RETURNING id),
       r AS (INSERT INTO security_group_rules (security_group_id, project_id, direction, ethertype) SELECT id, $1, 'egress', 'IPv4' FROM g)
       SELECT id FROM g`,
      [caller.project.id, input.name, input.description ?? '', input.stateful],
    );
    const id = rows[0]!.id;
    await announce(ctx, client, { kind: 'securityGroup', id, projectId: caller.project.id }, `security group ${input.name} created`);
    return id;
  });
  return getSecurityGroup(ctx.db, caller, id);
}

export async function updateSecurityGroup(ctx: Context, caller: Caller, input: z.infer<typeof securityGroupUpdateInput>): Promise<SecurityGroup> {
  needJobs(ctx);
  await transaction(ctx.db, async (client) => {
    const group = await groupForChange(client, caller, input.id);
    if (input.name !== undefined && input.name !== group.name) {
      if (group.name === DEFAULT_GROUP) throw new AsterError('InvalidInput', 'name: the default group cannot be renamed');
      if (input.name.toLowerCase() === DEFAULT_GROUP) throw new AsterError('Conflict', 'name: default is the name of the project’s default group');
      const { rows } = await client.query('SELECT 1 FROM security_groups WHERE project_id = $1 AND lower(name) = lower($2) AND id <> $3', [group.project_id, input.name, group.id]);
      if (rows.length) throw new AsterError('Conflict', `There is already a security group named ${input.name} in this project`);
    }
    await client.query('UPDATE security_groups SET name = COALESCE($2, name), description = COALESCE($3, description), updated_at = now() WHERE id = $1', [
      input.id,
      input.name ?? null,
      input.description ?? null,
    ]);
    await announce(ctx, client, { kind: 'securityGroup', id: input.id, projectId: group.project_id }, `security group ${group.name} updated`);
  });
  return getSecurityGroup(ctx.db, caller, input.id);
}

export async function deleteSecurityGroup(ctx: Context, caller: Caller, id: string): Promise<void> {
  needJobs(ctx);
  await transaction(ctx.db, async (client) => {
    const group = await groupForChange(client, caller, id);
    if (group.name === DEFAULT_GROUP) throw new AsterError('Conflict', 'security group default cannot be deleted; it goes with its project');
    const { rows } = await client.query<{ what: string }>(
      `SELECT CASE WHEN i.name IS NOT NULL THEN 'server ' || i.name ELSE 'port ' || CASE WHEN p.name <> '' THEN p.name ELSE p.id::text END END AS what
         FROM port_security_groups psg JOIN ports p ON p.id = psg.port_id LEFT JOIN instances i ON i.id = p.instance_id
        WHERE psg.security_group_id = $1 ORDER BY 1`,
      [id],
    );
    if (rows.length) {
      throw new AsterError('Conflict', `security group ${group.name} is in use by ${plural(rows.length, 'port')}: ${listed(rows.map((r) => r.what))}`);
    }
    await client.query('DELETE FROM security_groups WHERE id = $1', [id]);
    await announce(ctx, client, { kind: 'securityGroup', id, projectId: group.project_id, deleted: true }, `security group ${group.name} deleted`);
  });
}

const NAMED_PROTOCOLS: Record<string, string> = { tcp: 'tcp', udp: 'udp', icmp: 'icmp', '6': 'tcp', '17': 'udp', '1': 'icmp' };

/** A rule checked and normalised as Neutron does (its protocol, port range and remote), without the database. */
export function normaliseRule(input: RuleCreateInput): { protocol: string | null; min: number | null; max: number | null } {
  let protocol: string | null;
  const asked = input.protocol === undefined || input.protocol === null ? null : String(input.protocol).trim().toLowerCase();
  if (asked === null || asked === '' || asked === 'any') protocol = null;
  else if (NAMED_PROTOCOLS[asked]) protocol = NAMED_PROTOCOLS[asked]!;
  else if (/^\d{1,3}$/.test(asked) && Number(asked) <= 255) protocol = String(Number(asked));
  else throw new AsterError('InvalidInput', `protocol ${input.protocol} is not tcp, udp, icmp, any or an IP protocol number 0–255`);
  let min = input.portRangeMin ?? null;
  let max = input.portRangeMax ?? null;
  if (min === null && max !== null) throw new AsterError('InvalidInput', 'portRangeMax needs portRangeMin');
  if (protocol === 'tcp' || protocol === 'udp') {
    if (min !== null) {
      max ??= min;
      if (min < 1 || max < 1) throw new AsterError('InvalidInput', `port range ${min}–${max}: ${protocol} ports are 1–65535`);
      if (min > max) throw new AsterError('InvalidInput', `portRangeMin ${min} is greater than portRangeMax ${max}`);
    }
  } else if (protocol === 'icmp') {
    if (min !== null && min > 255) throw new AsterError('InvalidInput', `portRangeMin ${min}: an ICMP type is 0–255`);
    if (max !== null && max > 255) throw new AsterError('InvalidInput', `portRangeMax ${max}: an ICMP code is 0–255`);
  } else if (min !== null || max !== null) {
    throw new AsterError('InvalidInput', `a port range needs protocol tcp, udp or icmp${protocol === null ? '' : ` (not ${protocol})`}`);
  }
  return { protocol, min, max };
}

export async function addRule(ctx: Context, caller: Caller, input: RuleCreateInput): Promise<SecurityGroupRule> {
  const { protocol, min, max } = normaliseRule(input);
  if (input.remoteIpPrefix && input.remoteGroupId) throw new AsterError('InvalidInput', 'remoteIpPrefix and remoteGroupId: give one or the other, not both');
  needJobs(ctx);
  const rule = await transaction(ctx.db, async (client) => {
    const group = await groupForChange(client, caller, input.securityGroupId);
    let prefix: string | null = null;
    if (input.remoteIpPrefix) {
      try {
        const { rows } = await client.query<{ prefix: string; family: number }>('SELECT network($1::inet)::text AS prefix, family($1::inet) AS family', [input.remoteIpPrefix]);
        prefix = rows[0]!.prefix;
        if ((rows[0]!.family === 4) !== (input.ethertype === 'IPv4')) {
          throw new AsterError('InvalidInput', `remoteIpPrefix ${input.remoteIpPrefix} is not an ${input.ethertype} network (ethertype ${input.ethertype})`);
        }
      } catch (error) {
        if (pgCode(error) === '22P02') throw new AsterError('InvalidInput', `remoteIpPrefix ${input.remoteIpPrefix} is not a network like 10.0.0.0/24`, { cause: error });
        throw error;
      }
    }
    if (input.remoteGroupId) {
      const { rows } = await client.query('SELECT 1 FROM security_groups WHERE id = $1 AND project_id = $2', [input.remoteGroupId, group.project_id]);
      if (!rows.length) throw new AsterError('NotFound', `remoteGroupId: no security group ${input.remoteGroupId} in this project`);
    }
    const values = [group.id, input.direction, input.ethertype, protocol, min, max, prefix, input.remoteGroupId ?? null];
    const { rows: same } = await client.query<{ id: string }>(
      `SELECT id FROM security_group_rules WHERE security_group_id = $1 AND direction = $2 AND ethertype = $3 AND protocol IS NOT DISTINCT FROM $4
          AND port_range_min IS NOT DISTINCT FROM $5 AND port_range_max IS NOT DISTINCT FROM $6
          AND remote_ip_prefix IS NOT DISTINCT FROM $7::cidr AND remote_group_id IS NOT DISTINCT FROM $8::uuid`,
      values,
    );
    if (same[0]) throw new AsterError('Conflict', `an identical rule exists: ${same[0].id}`);
    await enforceQuota(client, group.project_id, { securityGroupRules: 1 }, ctx.config.quotaDefaults);
    const { rows } = await client.query<RuleRow>(
      `INSERT INTO security_group_rules (security_group_id, direction, ethertype, protocol, port_range_min, port_range_max, remote_ip_prefix, remote_group_id,
                                         project_id, description)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *, remote_ip_prefix::text AS remote_ip_prefix`,
      [...values, group.project_id, input.description ?? ''],
    );
    await announce(ctx, client, { kind: 'securityGroup', id: group.id, projectId: group.project_id }, `rule added to security group ${group.name}`);
    return rows[0]!;
  });
  return toRule(rule);
}

export async function removeRule(ctx: Context, caller: Caller, ruleId: string): Promise<void> {
  if (!isUuid(ruleId)) throw notFound('Security group rule', ruleId);
  needJobs(ctx);
  await transaction(ctx.db, async (client) => {
    const { rows } = await client.query<{ security_group_id: string }>('SELECT security_group_id FROM security_group_rules WHERE id = $1 AND ($2 OR project_id = $3)', [
      ruleId,
      caller.isAdmin,
      caller.project.id,
    ]);
    if (!rows[0]) throw notFound('Security group rule', ruleId);
    const group = await groupForChange(client, caller, rows[0].security_group_id);
    await client.query('DELETE FROM security_group_rules WHERE id = $1', [ruleId]);
    await announce(ctx, client, { kind: 'securityGroup', id: group.id, projectId: group.project_id }, `rule removed from security group ${group.name}`);
  });
}

export { isUniqueViolation };
