import { serverStatus, statuses, type TaskState, type VmState } from '@aster/compute';
import type { Queryable } from '@aster/db';
import { z } from 'zod';
import type { Auth } from '../context.ts';
import { AsterError } from '../errors.ts';
import { isoDate, toIso } from '../schemas.ts';

export const groupPolicies = ['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'] as const;

export const serverGroup = z.object({
  id: z.string(),
  name: z.string(),
  policy: z.enum(groupPolicies),
  maxServerPerHost: z.number().nullable(),
  projectId: z.string(),
  userId: z.string().nullable(),
  /** Live members only; `host` is there for administrators only. */
  members: z.array(z.object({ id: z.string(), name: z.string(), status: z.enum(statuses), host: z.string().nullable().optional() })),
  createdAt: isoDate,
});
export type ServerGroup = z.infer<typeof serverGroup>;

interface Row {
  id: string;
  name: string;
  policy: (typeof groupPolicies)[number];
  max_server_per_host: number | null;
  project_id: string;
  user_id: string | null;
  created_at: Date;
  members: { id: string; name: string; vm_state: VmState; task_state: TaskState | null; host: string | null }[];
}

const SELECT = `
  SELECT g.*, coalesce((
           SELECT jsonb_agg(jsonb_build_object('id', i.id, 'name', i.name, 'vm_state', i.vm_state, 'task_state', i.task_state, 'host', i.host)
                            ORDER BY m.created_at, i.name)
             FROM server_group_members m JOIN instances i ON i.id = m.instance_id
            WHERE m.group_id = g.id AND i.deleted_at IS NULL), '[]') AS members
    FROM server_groups g`;

function toServerGroup(r: Row, isAdmin: boolean): ServerGroup {
  return {
    id: r.id,
    name: r.name,
    policy: r.policy,
    maxServerPerHost: r.max_server_per_host,
    projectId: r.project_id,
    userId: r.user_id,
    members: r.members.map((m) => ({
      id: m.id,
      name: m.name,
      status: serverStatus(m.vm_state, m.task_state),
      ...(isAdmin ? { host: m.host } : {}),
    })),
    createdAt: toIso(r.created_at),
  };
}

export async function listServerGroups(db: Queryable, auth: Auth, allProjects: boolean): Promise<ServerGroup[]> {
  if (allProjects && !auth.isAdmin) throw new AsterError('Forbidden', 'allProjects is for cloud administrators');
  const { rows } = await db.query<Row>(`${SELECT} WHERE $1::uuid IS NULL OR g.project_id = $1 ORDER BY g.created_at, g.id`, [
    allProjects ? null : auth.project.id,
  ]);
  return rows.map((r) => toServerGroup(r, auth.isAdmin));
}

/** A group the caller may see: its project's, or any for an administrator; NotFound otherwise (not Forbidden). */
export async function visibleServerGroup(db: Queryable, auth: Auth, id: string): Promise<ServerGroup> {
  const { rows } = await db.query<Row>(`${SELECT} WHERE g.id = $1`, [id]);
  const row = rows[0];
  if (!row || (row.project_id !== auth.project.id && !auth.isAdmin)) throw new AsterError('NotFound', `Server group ${id} not found`);
  return toServerGroup(row, auth.isAdmin);
}

/** The project's own group, for servers.create: a member joins a group of its own project only. */
export async function projectServerGroup(db: Queryable, projectId: string, id: string): Promise<{ id: string; name: string }> {
  const { rows } = await db.query<{ id: string; name: string }>('SELECT id, name FROM server_groups WHERE id = $1 AND project_id = $2', [id, projectId]);
  if (!rows[0]) throw new AsterError('NotFound', `Server group ${id} not found`);
  return rows[0];
}
