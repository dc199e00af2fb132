import type { HostAggregate, HostResources, HostState, ResourceRequest } from '@aster/compute';
import type { Queryable } from '@aster/db';
import { hostZoneSql } from '../scheduling/zones.ts';

/**
 * Reading hosts for the scheduler. `readHostStates` is every host as the scheduler sees it, in one query;
 * `allocationCandidates` is placement's question for one request (which providers have room, in a zone or
 * aggregate), also in one query, limited like Nova's max_placement_results.
 */

type Inv = { total: number; reserved: number; ratio: number; used: number; max: number } | null;

interface HostRow {
  provider_id: string;
  host: string;
  generation: number;
  vcpu: Inv;
  ram: Inv;
  disk: Inv;
  disabled: boolean | null;
  disabled_reason: string | null;
  forced_down: boolean | null;
  last_seen_at: Date | null;
  stopped_at: Date | null;
  hypervisor_type: string | null;
  arch: string | null;
  failed_builds: number | null;
  instances: number;
  aggregates: HostAggregate[] | null;
}

const inventoryJson = (alias: string) =>
  `CASE WHEN ${alias}.provider_id IS NULL THEN NULL ELSE json_build_object('total', ${alias}.total, 'reserved', ${alias}.reserved,
     'ratio', ${alias}.allocation_ratio, 'used', ${alias}.used, 'max', ${alias}.max_unit) END`;

const hostsSql = (countInstances: boolean) => `
  SELECT rp.id AS provider_id, rp.name AS host, rp.generation,
         ${inventoryJson('c')} AS vcpu, ${inventoryJson('m')} AS ram, ${inventoryJson('d')} AS disk,
         s.disabled, s.disabled_reason, s.forced_down, s.last_seen_at, s.stopped_at,
         cn.hypervisor_type, cn.capabilities ->> 'arch' AS arch, cn.failed_builds,
         ${countInstances ? 'coalesce(n.instances, 0)' : '0'} AS instances, ag.aggregates
    FROM resource_providers rp
    LEFT JOIN inventories c ON c.provider_id = rp.id AND c.resource_class = 'VCPU'
    LEFT JOIN inventories m ON m.provider_id = rp.id AND m.resource_class = 'MEMORY_MB'
    LEFT JOIN inventories d ON d.provider_id = rp.id AND d.resource_class = 'DISK_GB'
    LEFT JOIN services s ON s.host = rp.name AND s.binary_name = 'aster-compute'
    LEFT JOIN compute_nodes cn ON cn.host = rp.name
    ${countInstances ? 'LEFT JOIN (SELECT provider_id, count(DISTINCT consumer_id)::int AS instances FROM allocations GROUP BY provider_id) n ON n.provider_id = rp.id' : ''}
    LEFT JOIN (SELECT ah.host, json_agg(json_build_object('id', a.id, 'name', a.name, 'metadata', a.metadata) ORDER BY a.name) AS aggregates
                 FROM aggregate_hosts ah JOIN aggregates a ON a.id = ah.aggregate_id GROUP BY ah.host) ag
           ON ag.host = rp.name
   ORDER BY rp.name`;

const HOSTS_SQL = { counted: hostsSql(true), uncounted: hostsSql(false) };

const none: HostResources = { total: 0, reserved: 0, allocationRatio: 1, used: 0, maxUnit: 0 };
const toResources = (i: Inv): HostResources =>
  i ? { total: i.total, reserved: i.reserved, allocationRatio: i.ratio, used: i.used, maxUnit: i.max } : { ...none };

/** The zone of a host: the first of its aggregates that names one, else the default zone. */
export function zoneOf(aggregates: HostAggregate[], defaultZone: string): string {
  for (const a of aggregates) {
    const zone = a.metadata.availability_zone;
    if (zone) return zone;
  }
  return defaultZone;
}

/** Every host with its inventory, usage, service state, zone, aggregates, instance count and recent build failures. */
export async function readHostStates(
  db: Queryable,
  o: { now: Date; downAfterSeconds: number; defaultZone: string; /** Count instances per host (0 without: counting reads every allocation). */ countInstances?: boolean },
): Promise<HostState[]> {
  const { rows } = await db.query<HostRow>(o.countInstances === false ? HOSTS_SQL.uncounted : HOSTS_SQL.counted);
  const downBefore = o.now.getTime() - o.downAfterSeconds * 1000;
  return rows.map((r) => {
    const aggregates = r.aggregates ?? [];
    return {
      host: r.host,
      providerId: r.provider_id,
      generation: r.generation,
      vcpu: toResources(r.vcpu),
      memoryMb: toResources(r.ram),
      diskGb: toResources(r.disk),
      serviceUp: !!r.last_seen_at && !r.stopped_at && r.last_seen_at.getTime() >= downBefore,
      serviceDisabled: r.disabled ?? false,
      disabledReason: r.disabled_reason,
      forcedDown: r.forced_down ?? false,
      hypervisorType: r.hypervisor_type ?? 'unknown',
      arch: r.arch ?? 'x86_64',
      availabilityZone: zoneOf(aggregates, o.defaultZone),
      aggregates,
      instances: r.instances,
      failedBuilds: r.failed_builds ?? 0,
    };
  });
}

export interface Candidate {
  providerId: string;
  host: string;
  generation: number;
  free: ResourceRequest;
}

/**
 * Placement's allocation candidates: providers with room for `resources` after ratios, reservations and
 * usage (and within each class's max unit), optionally only in one zone or in at least one of some
 * aggregates; at most `limit`. One statement: each class is a join on the inventories' primary key, the zone
 * a lookup through aggregate_hosts' host index.
 */
export async function allocationCandidates(
  db: Queryable,
  o: { resources: ResourceRequest; availabilityZone?: string | null; defaultZone: string; aggregates?: string[]; limit: number },
): Promise<Candidate[]> {
  const { rows } = await db.query<{ provider_id: string; host: string; generation: number; vcpus: number; ram_mb: number; disk_gb: number }>(
    `SELECT rp.id AS provider_id, rp.name AS host, rp.generation,
            (floor((c.total - c.reserved) * c.allocation_ratio) - c.used)::int AS vcpus,
            (floor((m.total - m.reserved) * m.allocation_ratio) - m.used)::int AS ram_mb,
            coalesce(floor((d.total - d.reserved) * d.allocation_ratio) - d.used, 0)::int AS disk_gb
       FROM resource_providers rp
       JOIN inventories c ON c.provider_id = rp.id AND c.resource_class = 'VCPU'
       JOIN inventories m ON m.provider_id = rp.id AND m.resource_class = 'MEMORY_MB'
       LEFT JOIN inventories d ON d.provider_id = rp.id AND d.resource_class = 'DISK_GB'
      WHERE floor((c.total - c.reserved) * c.allocation_ratio) - c.used >= $1 AND c.max_unit >= $1
        AND floor((m.total - m.reserved) * m.allocation_ratio) - m.used >= $2 AND m.max_unit >= $2
        AND ($3 = 0 OR (floor((d.total - d.reserved) * d.allocation_ratio) - d.used >= $3 AND d.max_unit >= $3))
        AND ($4::text IS NULL OR coalesce(${hostZoneSql('rp.name')}, $5) = $4)
        AND ($6::uuid[] IS NULL OR EXISTS (SELECT 1 FROM aggregate_hosts ah WHERE ah.host = rp.name AND ah.aggregate_id = ANY($6::uuid[])))
      LIMIT $7`,
    [o.resources.vcpus, o.resources.ramMb, o.resources.diskGb, o.availabilityZone ?? null, o.defaultZone, o.aggregates ?? null, o.limit],
  );
  return rows.map((r) => ({
    providerId: r.provider_id,
    host: r.host,
    generation: r.generation,
    free: { vcpus: r.vcpus, ramMb: r.ram_mb, diskGb: r.disk_gb },
  }));
}
