import { groupRefusal, type GroupPolicy, type GroupRequest, type ResourceRequest } from '@aster/compute';
import type { PoolClient, Queryable } from '@aster/db';
import { claimIn } from './placement.ts';

/**
 * Server-group policies hold under any number of schedulers and conductors: a member's claim takes its group's
 * row lock, reads where the other members hold places now, and claims only if the policy allows the host.
 * Members of one group are claimed one after the other; other claims are not held up.
 */

export interface InstanceGroup {
  id: string;
  name: string;
  policy: GroupPolicy;
  maxServerPerHost: number | null;
}

/** The group an instance is a member of, if any. */
export async function groupOf(db: Queryable, instanceId: string): Promise<InstanceGroup | null> {
  const { rows } = await db.query<{ id: string; name: string; policy: GroupPolicy; max_server_per_host: number | null }>(
    `SELECT g.id, g.name, g.policy, g.max_server_per_host
       FROM server_group_members gm JOIN server_groups g ON g.id = gm.group_id WHERE gm.instance_id = $1`,
    [instanceId],
  );
  const g = rows[0];
  return g ? { id: g.id, name: g.name, policy: g.policy, maxServerPerHost: g.max_server_per_host } : null;
}

/**
 * Host name → how many other members of the group hold a place there. A place is a placement allocation, so a
 * member claimed a moment ago counts before its build has even been sent.
 */
export async function memberHosts(db: Queryable, groupId: string, exceptInstanceId: string): Promise<Record<string, number>> {
  const { rows } = await db.query<{ host: string; n: number }>(
    `SELECT rp.name AS host, count(DISTINCT gm.instance_id)::int AS n
       FROM server_group_members gm
       JOIN allocations a ON a.consumer_id = gm.instance_id
       JOIN resource_providers rp ON rp.id = a.provider_id
      WHERE gm.group_id = $1 AND gm.instance_id <> $2
      GROUP BY rp.name`,
    [groupId, exceptInstanceId],
  );
  return Object.fromEntries(rows.map((r) => [r.host, r.n]));
}

export function groupRequest(group: InstanceGroup, hosts: Record<string, number>): GroupRequest {
  return { id: group.id, name: group.name, policy: group.policy, maxServerPerHost: group.maxServerPerHost ?? 1, memberHosts: hosts };
}

export type ClaimOutcome = 'claimed' | 'no-room' | 'group';

/**
 * Claims `resources` on a host for an instance inside the caller's transaction. With a hard-policy group, the
 * group's row is locked first (always before any provider row, so claims never deadlock), the members' places
 * are read again, and a host the policy now forbids answers 'group' without claiming.
 */
export async function claimForInstance(
  client: PoolClient,
  c: { providerId: string; host: string; instanceId: string; resources: ResourceRequest; group: InstanceGroup | null },
): Promise<ClaimOutcome> {
  const g = c.group;
  if (g && (g.policy === 'affinity' || g.policy === 'anti-affinity')) {
    const { rowCount } = await client.query('SELECT 1 FROM server_groups WHERE id = $1 FOR UPDATE', [g.id]);
    // A group deleted meanwhile no longer binds its former members.
    if (rowCount && groupRefusal(groupRequest(g, await memberHosts(client, g.id, c.instanceId)), c.host)) return 'group';
  }
  return (await claimIn(client, c.providerId, c.instanceId, c.resources)) ? 'claimed' : 'no-room';
}
