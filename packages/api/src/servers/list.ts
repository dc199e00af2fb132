import { serverStatus, statuses, taskStates, vmStates, type Status } from '@aster/compute';
import { z } from 'zod';
import type { Auth, Context } from '../context.ts';
import { AsterError } from '../errors.ts';
import type { InstanceRow } from '../compute/instances.ts';
import { id, isoDate } from '../schemas.ts';
import { server, toServers } from './view.ts';

const sortKeys = { created: 'created_at', updated: 'updated_at', name: 'name' } as const;

export const listInput = z
  .object({
    name: z.string().max(255).optional(),
    status: z.enum(statuses, { error: `must be one of ${statuses.join(', ')}` }).optional(),
    imageId: id.optional(),
    flavorId: id.optional(),
    ip: z.string().max(64).regex(/^[0-9.]+$/, 'must be an IPv4 address or its beginning, like 192.168.122.').optional(),
    tag: z.string().max(60).optional(),
    host: z.string().max(255).optional(),
    sortKey: z.enum(['created', 'updated', 'name']).default('created'),
    sortDir: z.enum(['asc', 'desc']).default('desc'),
    limit: z.number().int().min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(100),
    marker: id.optional(),
    changesSince: isoDate.optional(),
    allProjects: z.boolean().default(false),
  })
  .default({ sortKey: 'created', sortDir: 'desc', limit: 100, allProjects: false });

export const listOutput = z.object({ servers: z.array(server), nextMarker: z.string().nullable() });

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
const list = (xs: readonly string[]) => `ARRAY[${xs.map(literal).join(', ')}]::text[]`;

/**
 * The SQL condition a status filter means: the inverse of serverStatus, worked out from it over every
 * vm_state and task_state so that the two cannot drift apart. A task state not in the list counts as idle,
 * as serverStatus treats it.
 */
function statusCondition(status: Status): string {
  const parts: string[] = [];
  for (const vm of vmStates) {
    const tasks = taskStates.filter((t) => serverStatus(vm, t) === status);
    if (serverStatus(vm, null) === status) {
      const others = taskStates.filter((t) => serverStatus(vm, t) !== status);
      parts.push(`vm_state = ${literal(vm)}` + (others.length ? ` AND (task_state IS NULL OR task_state <> ALL(${list(others)}))` : ''));
    } else if (tasks.length) {
      parts.push(`vm_state = ${literal(vm)} AND task_state = ANY(${list(tasks)})`);
    }
  }
  if (status === 'UNKNOWN') parts.push(`vm_state <> ALL(${list(vmStates)})`);
  return parts.length ? parts.map((p) => `(${p})`).join(' OR ') : 'false';
}
const statusWhere = Object.fromEntries(statuses.map((s) => [s, statusCondition(s)])) as Record<Status, string>;

export async function listServers(ctx: Context, auth: Auth, input: z.infer<typeof listInput>) {
  if (input.allProjects && !auth.isAdmin) throw new AsterError('Forbidden', 'allProjects is for cloud administrators');
  if (input.host && !auth.isAdmin) throw new AsterError('Forbidden', 'filtering by host is for cloud administrators');
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  if (!input.allProjects) where.push(`project_id = ${param(auth.project.id)}`);
  if (input.changesSince) where.push(`updated_at >= ${param(input.changesSince)}`);
  else if (input.status !== 'DELETED') where.push('deleted_at IS NULL');
  if (input.status) where.push(`(${statusWhere[input.status]})`);
  if (input.name) where.push(`name ILIKE ${param('%' + input.name.replace(/[\\%_]/g, (c) => '\\' + c) + '%')}`);
  if (input.imageId) where.push(`image_id = ${param(input.imageId)}`);
  if (input.flavorId) where.push(`flavor_id = ${param(input.flavorId)}`);
  if (input.tag) where.push(`${param(input.tag)} = ANY(tags)`);
  if (input.host) where.push(`host = ${param(input.host)}`);
  if (input.ip) where.push(`EXISTS (SELECT 1 FROM ports p WHERE p.instance_id = instances.id AND host(p.ip) LIKE ${param(input.ip + '%')})`);

  const column = sortKeys[input.sortKey];
  const cmp = input.sortDir === 'desc' ? '<' : '>';
  if (input.marker) {
    // Compared in SQL: a timestamp read into JavaScript loses its microseconds, and rows would be skipped or repeated.
    const m = await ctx.db.query(`SELECT 1 FROM instances WHERE id = $1 AND ($2::uuid IS NULL OR project_id = $2)`, [
      input.marker,
      input.allProjects ? null : auth.project.id,
    ]);
    if (!m.rows[0]) throw new AsterError('InvalidInput', `Invalid input: marker: no server ${input.marker} (it may have been deleted; list again from the start)`);
    where.push(`(${column}, id) ${cmp} (SELECT ${column}, id FROM instances WHERE id = ${param(input.marker)})`);
  }
  const { rows } = await ctx.db.query<InstanceRow>(
    `SELECT * FROM instances ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY ${column} ${input.sortDir}, id ${input.sortDir} LIMIT ${param(input.limit + 1)}`,
    values,
  );
  const more = rows.length > input.limit;
  const page = more ? rows.slice(0, input.limit) : rows;
  return { servers: await toServers(ctx.db, page, auth.isAdmin, ctx.config.defaultAvailabilityZone), nextMarker: more ? page[page.length - 1]!.id : null };
}
