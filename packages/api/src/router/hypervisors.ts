import { z } from 'zod';
import { AsterError } from '../errors.ts';
import { id, isoDate, toIso } from '../schemas.ts';
import { hostZoneSql } from '../scheduling/zones.ts';
import { serviceStatus } from '../services/registry.ts';
import { authedProcedure, router } from '../trpc.ts';
import { findFlavor } from '../compute/flavors.ts';
import { allocationCandidates } from '../compute/host-states.ts';

const resource = z.object({
  total: z.number(),
  used: z.number(),
  reserved: z.number(),
  allocationRatio: z.number(),
  /** What the scheduler can still place: (total − reserved) × ratio − used, never below 0. */
  free: z.number(),
});
const hypervisor = z.object({
  host: z.string(),
  hypervisorType: z.string(),
  state: z.enum(['enabled', 'disabled']),
  status: z.enum(['up', 'down']),
  disabledReason: z.string().nullable(),
  vcpus: resource,
  ramMb: resource,
  diskGb: resource,
  runningVms: z.number(),
  capabilities: z.record(z.string(), z.unknown()),
  updatedAt: isoDate,
  /** Its zone aggregate's zone, else the default zone. */
  availabilityZone: z.string(),
  /** Names of the aggregates it is in. */
  aggregates: z.array(z.string()),
  forcedDown: z.boolean(),
  /** Builds that failed on it since its last successful one. */
  failedBuilds: z.number(),
});

type Inventory = { total: number; used: number; reserved: number; allocation_ratio: number };
type Row = {
  host: string;
  hypervisor_type: string;
  capabilities: Record<string, unknown>;
  running_vms: number;
  updated_at: Date;
  disabled: boolean | null;
  disabled_reason: string | null;
  last_seen_at: Date | null;
  stopped_at: Date | null;
  inventories: Record<string, Inventory> | null;
  forced_down: boolean | null;
  failed_builds: number;
  zone: string | null;
  aggregates: string[];
};

// One row per compute node: its service (if it ever registered) and its inventories keyed by resource class.
const SELECT = `
  SELECT cn.host, cn.hypervisor_type, cn.capabilities, cn.running_vms, cn.updated_at, cn.failed_builds,
         s.disabled, s.disabled_reason, s.last_seen_at, s.stopped_at, s.forced_down,
         ${hostZoneSql('cn.host')} AS zone,
         coalesce((SELECT array_agg(a.name ORDER BY lower(a.name)) FROM aggregate_hosts ah JOIN aggregates a ON a.id = ah.aggregate_id
                    WHERE ah.host = cn.host), '{}') AS aggregates,
         (SELECT jsonb_object_agg(i.resource_class, jsonb_build_object(
                   'total', i.total, 'used', i.used, 'reserved', i.reserved, 'allocation_ratio', i.allocation_ratio))
            FROM inventories i WHERE i.provider_id = cn.provider_id) AS inventories
    FROM compute_nodes cn
    LEFT JOIN services s ON s.host = cn.host AND s.binary_name = 'aster-compute'`;

function toResource(inv: Inventory | undefined) {
  if (!inv) return { total: 0, used: 0, reserved: 0, allocationRatio: 1, free: 0 };
  const capacity = Math.floor((inv.total - inv.reserved) * inv.allocation_ratio);
  return { total: inv.total, used: inv.used, reserved: inv.reserved, allocationRatio: inv.allocation_ratio, free: Math.max(0, capacity - inv.used) };
}

function toHypervisor(r: Row, now: Date, downSeconds: number, defaultZone: string) {
  const inv = r.inventories ?? {};
  return {
    host: r.host,
    hypervisorType: r.hypervisor_type,
    // A host whose agent never registered cannot be scheduled to, but nobody disabled it either.
    state: r.disabled ? ('disabled' as const) : ('enabled' as const),
    status: r.forced_down ? ('down' as const) : serviceStatus({ last_seen_at: r.last_seen_at, stopped_at: r.stopped_at }, now, downSeconds),
    disabledReason: r.disabled_reason,
    vcpus: toResource(inv.VCPU),
    ramMb: toResource(inv.MEMORY_MB),
    diskGb: toResource(inv.DISK_GB),
    runningVms: r.running_vms,
    capabilities: r.capabilities,
    updatedAt: toIso(r.updated_at),
    availabilityZone: r.zone ?? defaultZone,
    aggregates: r.aggregates,
    forcedDown: r.forced_down ?? false,
    failedBuilds: r.failed_builds,
  };
}

/** Compute hosts as the placement tables and their agents' heartbeats describe them (Nova's os-hypervisors). */
export const hypervisorsRouter = router({
  list: authedProcedure.output(z.array(hypervisor)).query(async ({ ctx }) => {
    const { rows } = await ctx.db.query<Row>(`${SELECT} ORDER BY cn.host`);
    const now = ctx.now();
    return rows.map((r) => toHypervisor(r, now, ctx.config.serviceDownSeconds, ctx.config.defaultAvailabilityZone));
  }),

  get: authedProcedure
    .input(z.object({ host: z.string().min(1, 'must name a host').max(255, 'must be at most 255 characters') }))
    .output(hypervisor)
    .query(async ({ ctx, input }) => {
      const { rows } = await ctx.db.query<Row>(`${SELECT} WHERE cn.host = $1`, [input.host]);
      if (!rows[0]) throw new AsterError('NotFound', `Hypervisor ${input.host} not found`);
      return toHypervisor(rows[0], ctx.now(), ctx.config.serviceDownSeconds, ctx.config.defaultAvailabilityZone);
    }),

  /**
   * Placement's allocation candidates (Nova's GET /allocation_candidates): the hosts with room for a flavor,
   * in a zone if one is named, with what each has free; one query, at most `limit` hosts.
   */
  candidates: authedProcedure
    .input(
      z.object({
        flavorId: id,
        availabilityZone: z.string().trim().min(1, 'must name a zone').max(255).optional(),
        limit: z.number().int('must be a whole number').min(1, 'must be at least 1').max(10_000, 'must be at most 10000').default(1000),
      }),
    )
    .output(z.array(z.object({ host: z.string(), free: z.object({ vcpus: z.number(), ramMb: z.number(), diskGb: z.number() }) })))
    .query(async ({ ctx, input }) => {
      const flavor = await findFlavor(ctx.db, input.flavorId);
      const found = await allocationCandidates(ctx.db, {
        resources: { vcpus: flavor.vcpus, ramMb: flavor.ram_mb, diskGb: flavor.disk_gb },
        availabilityZone: input.availabilityZone ?? null,
        defaultZone: ctx.config.defaultAvailabilityZone,
        limit: input.limit,
      });
      return found.map((c) => ({ host: c.host, free: c.free }));
    }),
});
