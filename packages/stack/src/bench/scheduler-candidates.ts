import * as api from '@aster/api';
import type { Pool } from '@aster/db';
import { percentiles } from './measure.ts';
import { benchFlavors } from './scheduler-plan.ts';
import { hostSizes } from './fleet.ts';

/**
 * Placement's allocation-candidates query, timed by calling it directly on the benchmark's database: at the
 * fleet's size, then with extra providers added by SQL (providers that look like registered, running hosts).
 */

type Resources = { vcpus: number; ramMb: number; diskGb: number };
type AllocationCandidates = (
  db: Pool,
  o: { resources: Resources; availabilityZone: string | null; limit: number; defaultZone: string },
) => Promise<unknown[]>;

/** packages/api's placement query, when its index exports it under this name. */
export function allocationCandidatesFunction(): AllocationCandidates | null {
  const found = (api as Record<string, unknown>).allocationCandidates;
  return typeof found === 'function' ? (found as AllocationCandidates) : null;
}

export async function timeCandidates(db: Pool, fn: AllocationCandidates, o: { zones: boolean; samples?: number; limit: number }) {
  const samples: number[] = [];
  let answered = 0;
  const total = (o.samples ?? 200) + 20;
  for (let i = 0; i < total; i++) {
    const f = benchFlavors[i % benchFlavors.length]!;
    const zone = o.zones && i % 3 === 1 ? (i % 2 ? 'az1' : 'az2') : null;
    const t = performance.now();
    const found = await fn(db, { resources: { vcpus: f.vcpus, ramMb: f.ramMb, diskGb: f.diskGb }, availabilityZone: zone, limit: o.limit, defaultZone: 'nova' });
    if (i >= 20) samples.push(performance.now() - t); // the first twenty warm up
    answered += found.length;
  }
  return { ms: percentiles(samples), meanCandidates: Math.round(answered / total) };
}

/**
 * Adds `count` providers with the fleet's sizes, compute nodes and up compute services (and half of them to
 * each zone's aggregate when zones exist), so the query meets them as it would meet real hosts. Their
 * services are seen an hour ahead: nothing heartbeats for them, and they must stay up while timed.
 */
export async function addProviders(db: Pool, count: number, o: { zones: boolean }): Promise<void> {
  const sizes = hostSizes;
  await db.query(
    `WITH src AS (SELECT g, 'extra-' || lpad(g::text, 5, '0') AS name FROM generate_series(0, $1 - 1) g),
          p AS (INSERT INTO resource_providers (name) SELECT name FROM src RETURNING id, name),
          sized AS (SELECT p.id, p.name, src.g % 4 AS s FROM p JOIN src USING (name)),
          inv AS (INSERT INTO inventories (provider_id, resource_class, total, reserved, max_unit, allocation_ratio)
                  SELECT id, rc, total, reserved, total, ratio FROM sized CROSS JOIN LATERAL (VALUES
                    ('VCPU', ($2::int[])[s + 1], 0, 4.0::real),
                    ('MEMORY_MB', ($3::int[])[s + 1], 512, 1.0::real),
                    ('DISK_GB', ($4::int[])[s + 1], 0, 1.0::real)) v(rc, total, reserved, ratio)),
          cn AS (INSERT INTO compute_nodes (host, provider_id, hypervisor_type, capabilities)
                 SELECT name, id, (SELECT hypervisor_type FROM compute_nodes LIMIT 1), (SELECT capabilities FROM compute_nodes LIMIT 1) FROM sized)
     INSERT INTO services (host, binary_name, last_seen_at) SELECT name, 'aster-compute', now() + interval '1 hour' FROM sized`,
    [count, sizes.map((s) => s.vcpus), sizes.map((s) => s.ramMb), sizes.map((s) => s.diskGb)],
  );
  if (o.zones) {
    await db.query(
      `INSERT INTO aggregate_hosts (aggregate_id, host)
       SELECT (SELECT id FROM aggregates WHERE availability_zone = CASE WHEN (substr(rp.name, 7)::int / 4) % 2 = 0 THEN 'az1' ELSE 'az2' END LIMIT 1), rp.name
         FROM resource_providers rp WHERE rp.name LIKE 'extra-%'`,
    );
  }
  await db.query('ANALYZE');
}
