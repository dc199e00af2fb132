import type { Pool } from '@aster/db';
import { percentiles } from './measure.ts';

/**
 * What `bench:scheduler` reads from the database after the run: the timings each server's rows recorded,
 * and the checks that no decision broke a rule, however many schedulers raced.
 */

const ms = (rows: { v: number | string | null }[]) => rows.map((r) => Number(r.v)).filter((v) => Number.isFinite(v));

export async function timings(db: Pool) {
  // The schedule event spans the decision when the worker records its start (started_at = decision start,
  // finished_at = claim done); a worker that records the event at the end only leaves a span of microseconds.
  const span = await db.query<{ v: number }>(
    `SELECT extract(epoch FROM e.finished_at - e.started_at) * 1000 AS v
       FROM instance_action_events e JOIN instance_actions a ON a.id = e.action_id
      WHERE a.action = 'create' AND e.event = 'schedule' AND e.result = 'Success'`,
  );
  const queued = await db.query<{ v: number }>(
    `SELECT extract(epoch FROM e.finished_at - a.started_at) * 1000 AS v
       FROM instance_action_events e JOIN instance_actions a ON a.id = e.action_id
      WHERE a.action = 'create' AND e.event = 'schedule' AND e.result = 'Success'`,
  );
  const active = await db.query<{ v: number }>(
    `SELECT extract(epoch FROM launched_at - created_at) * 1000 AS v FROM instances WHERE vm_state = 'active' AND launched_at IS NOT NULL`,
  );
  const decision = percentiles(ms(span.rows));
  const recorded = decision.n > 0 && decision.p50 >= 0.05;
  return {
    /** Decision start → claim done, as the schedule event records it (null when the worker does not record its start). */
    decisionMs: recorded ? decision : null,
    scheduleEventSpanMs: decision,
    /** The create action's start → the schedule event's end: queueing plus the decision. */
    createToScheduledMs: percentiles(ms(queued.rows)),
    createToActiveMs: percentiles(ms(active.rows)),
  };
}

/** When the last server reached ACTIVE or ERROR, by the database's clock (ms since the epoch). */
export async function lastSettledAt(db: Pool): Promise<number> {
  const { rows } = await db.query<{ t: Date }>(
    `SELECT max(CASE WHEN vm_state = 'active' THEN launched_at ELSE updated_at END) AS t FROM instances WHERE deleted_at IS NULL`,
  );
  return rows[0]!.t.getTime();
}

export async function verify(db: Pool, o: { groups: boolean }) {
  const capacity = await db.query<{ over: number; used_mismatch: number; inventories: number; examples: unknown }>(
    `WITH sums AS (SELECT provider_id, resource_class, sum(used)::bigint AS s FROM allocations GROUP BY 1, 2),
          checked AS (
            SELECT rp.name, i.resource_class, i.used, coalesce(s.s, 0) AS allocated,
                   floor((i.total - i.reserved) * i.allocation_ratio::numeric) AS capacity
              FROM inventories i JOIN resource_providers rp ON rp.id = i.provider_id
              LEFT JOIN sums s ON s.provider_id = i.provider_id AND s.resource_class = i.resource_class)
     SELECT count(*) FILTER (WHERE allocated > capacity)::int AS over,
            count(*) FILTER (WHERE allocated <> used)::int AS used_mismatch,
            count(*)::int AS inventories,
            (SELECT jsonb_agg(c) FROM (SELECT * FROM checked WHERE allocated > capacity OR allocated <> used LIMIT 5) c) AS examples
       FROM checked`,
  );
  // Every live server on a host holds its flavor there, and nothing else holds anything.
  const claims = await db.query<{ missing: number; stray: number }>(
    `SELECT (SELECT count(*)::int FROM instances i
               WHERE i.deleted_at IS NULL AND i.vm_state = 'active'
                 AND NOT EXISTS (SELECT 1 FROM allocations a JOIN resource_providers rp ON rp.id = a.provider_id
                                  WHERE a.consumer_id = i.id AND rp.name = i.host AND a.resource_class = 'MEMORY_MB'
                                    AND a.used = (i.flavor->>'ramMb')::int)) AS missing,
            (SELECT count(DISTINCT a.consumer_id)::int FROM allocations a
               LEFT JOIN instances i ON i.id = a.consumer_id AND i.deleted_at IS NULL AND i.vm_state = 'active'
              WHERE i.id IS NULL) AS stray`,
  );
  let antiAffinity: { groups: number; members: number; violations: number; examples: unknown; hostsOverMaxCountingErrored: number } | null = null;
  if (o.groups) {
    // Live members are those a host runs; a member whose build failed (ERROR, its claim freed) is counted
    // apart, as Nova's filter would still count it where its host is recorded.
    const { rows } = await db.query<{ groups: number; members: number; violations: number; with_errored: number; examples: unknown }>(
      `WITH members AS (
         SELECT g.id, g.name, i.host, i.vm_state, coalesce(g.max_server_per_host, 1) AS max
           FROM server_groups g JOIN server_group_members m ON m.group_id = g.id
           JOIN instances i ON i.id = m.instance_id AND i.deleted_at IS NULL AND i.host IS NOT NULL
          WHERE g.policy = 'anti-affinity'),
       live AS (SELECT id, name, host, max, count(*)::int AS n FROM members WHERE vm_state <> 'error' GROUP BY 1, 2, 3, 4),
       any_state AS (SELECT id, host, max, count(*)::int AS n FROM members GROUP BY 1, 2, 3)
       SELECT (SELECT count(*)::int FROM server_groups WHERE policy = 'anti-affinity') AS groups,
              (SELECT count(*)::int FROM server_group_members) AS members,
              (SELECT count(*)::int FROM live WHERE n > max) AS violations,
              (SELECT count(*)::int FROM any_state WHERE n > max) AS with_errored,
              (SELECT jsonb_agg(p) FROM (SELECT * FROM live WHERE n > max LIMIT 5) p) AS examples`,
    );
    const r = rows[0]!;
    antiAffinity = { groups: r.groups, members: r.members, violations: r.violations, examples: r.examples, hostsOverMaxCountingErrored: r.with_errored };
  }
  const states = await db.query<{ vm_state: string; task_state: string | null; n: number }>(
    `SELECT vm_state, task_state, count(*)::int AS n FROM instances WHERE deleted_at IS NULL GROUP BY 1, 2 ORDER BY 3 DESC`,
  );
  const faults = await db.query<{ without_fault: number }>(
    `SELECT count(*)::int AS without_fault FROM instances i
      WHERE i.deleted_at IS NULL AND i.vm_state = 'error'
        AND NOT EXISTS (SELECT 1 FROM instance_faults f WHERE f.instance_id = i.id AND length(trim(f.message)) > 0)`,
  );
  const reasons = await db.query<{ message: string; n: number }>(
    `SELECT f.message, count(*)::int AS n FROM instances i
       JOIN LATERAL (SELECT message FROM instance_faults f WHERE f.instance_id = i.id ORDER BY created_at DESC LIMIT 1) f ON true
      WHERE i.deleted_at IS NULL AND i.vm_state = 'error' GROUP BY 1 ORDER BY 2 DESC LIMIT 5`,
  );
  const count = (vm: string) => states.rows.filter((r) => r.vm_state === vm && r.task_state === null).reduce((n, r) => n + r.n, 0);
  const total = states.rows.reduce((n, r) => n + r.n, 0);
  const unsettled = total - count('active') - count('error');
  const cap = capacity.rows[0]!;
  const violations =
    cap.over + cap.used_mismatch + claims.rows[0]!.missing + claims.rows[0]!.stray + (antiAffinity?.violations ?? 0) + unsettled + faults.rows[0]!.without_fault;
  return {
    violations,
    servers: { total, active: count('active'), error: count('error'), unsettled, errorsWithoutFault: faults.rows[0]!.without_fault },
    states: states.rows,
    errorReasons: reasons.rows,
    capacity: { inventories: cap.inventories, overCapacity: cap.over, usedNotSumOfAllocations: cap.used_mismatch, examples: cap.examples },
    claims: { activeWithoutAllocation: claims.rows[0]!.missing, allocationsWithoutActiveServer: claims.rows[0]!.stray },
    antiAffinity,
  };
}
