import type { PoolClient, Queryable } from '@aster/db';
import { z } from 'zod';
import { AsterError } from '../errors.ts';
import { isoDate, toIso } from '../schemas.ts';

/** The metadata key that makes an aggregate an availability zone (Nova's). */
export const ZONE_KEY = 'availability_zone';

export const aggregate = z.object({
  id: z.string(),
  name: z.string(),
  availabilityZone: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  hosts: z.array(z.string()),
  createdAt: isoDate,
  updatedAt: isoDate,
});
export type Aggregate = z.infer<typeof aggregate>;

interface Row {
  id: string;
  name: string;
  availability_zone: string | null;
  metadata: Record<string, string>;
  hosts: string[];
  created_at: Date;
  updated_at: Date;
}

const SELECT = `SELECT a.*, coalesce((SELECT array_agg(h.host ORDER BY h.host) FROM aggregate_hosts h WHERE h.aggregate_id = a.id), '{}') AS hosts
                  FROM aggregates a`;

const toAggregate = (r: Row): Aggregate => ({
  id: r.id,
  name: r.name,
  availabilityZone: r.availability_zone,
  metadata: r.metadata,
  hosts: r.hosts,
  createdAt: toIso(r.created_at),
  updatedAt: toIso(r.updated_at),
});

export async function listAggregates(db: Queryable): Promise<Aggregate[]> {
  const { rows } = await db.query<Row>(`${SELECT} ORDER BY lower(a.name)`);
  return rows.map(toAggregate);
}

export async function loadAggregate(db: Queryable, id: string): Promise<Aggregate> {
  const { rows } = await db.query<Row>(`${SELECT} WHERE a.id = $1`, [id]);
  if (!rows[0]) throw new AsterError('NotFound', `Aggregate ${id} not found`);
  return toAggregate(rows[0]);
}

/**
 * Serialises changes to aggregates' hosts and zones, so that two concurrent changes cannot together put one host
 * in two zones. Held until the transaction ends.
 */
export async function lockAggregates(client: PoolClient): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtext('aster.aggregates'))`);
}

/**
 * Nova's rule: a host is in at most one availability zone. Refuses `hosts` joining zone `zone` (by being in
 * aggregate `self`) when one of them is in another aggregate of a different zone; names both aggregates.
 */
export async function checkZoneConflict(db: Queryable, self: { id: string; name: string }, hosts: string[], zone: string | null): Promise<void> {
  if (zone === null || hosts.length === 0) return;
  const { rows } = await db.query<{ host: string; name: string; zone: string }>(
    `SELECT h.host, a.name, a.availability_zone AS zone FROM aggregate_hosts h JOIN aggregates a ON a.id = h.aggregate_id
      WHERE h.host = ANY($1::text[]) AND a.id <> $2 AND a.availability_zone IS NOT NULL AND a.availability_zone <> $3
      ORDER BY h.host, a.name LIMIT 1`,
    [hosts, self.id, zone],
  );
  const c = rows[0];
  if (!c) return;
  throw new AsterError(
    'Conflict',
    `Host ${c.host} is in aggregate ${c.name} of zone ${c.zone}, so aggregate ${self.name} cannot put it in zone ${zone}: a host is in one zone at most`,
  );
}

export function checkZoneName(zone: string): void {
  if (zone.trim() === '') throw new AsterError('InvalidInput', `Invalid input: ${ZONE_KEY} must not be empty (set it to null to remove the zone)`);
}
