import type { Queryable } from '@aster/db';

/** Roles a process can run; the compute agent's `aster-compute` registers through the conductor. */
export const serviceBinaries = ['aster-api', 'aster-scheduler', 'aster-conductor', 'aster-network', 'aster-compute'] as const;
export type ServiceBinary = (typeof serviceBinaries)[number];

/** Registers (or re-registers after a restart) one role of a process on a host; answers its id. */
export async function registerService(db: Queryable, host: string, binary: ServiceBinary, now: Date): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO services (host, binary_name, last_seen_at) VALUES ($1, $2, $3)
     ON CONFLICT (host, binary_name) DO UPDATE SET last_seen_at = $3, stopped_at = NULL
     RETURNING id`,
    [host, binary, now],
  );
  return rows[0]!.id;
}

export async function heartbeat(db: Queryable, ids: string[], now: Date): Promise<void> {
  await db.query('UPDATE services SET last_seen_at = $2, stopped_at = NULL WHERE id = ANY($1::uuid[])', [ids, now]);
}

/** A clean stop: the service shows as down at once, and says it was stopped rather than lost. */
export async function markStopped(db: Queryable, ids: string[], now: Date): Promise<void> {
  await db.query('UPDATE services SET stopped_at = $2 WHERE id = ANY($1::uuid[])', [ids, now]);
}

/** Up when seen within `downAfterSeconds` and not stopped since (Nova's service_down_time). */
export function serviceStatus(
  row: { last_seen_at: Date | null; stopped_at: Date | null },
  now: Date,
  downAfterSeconds: number,
): 'up' | 'down' {
  if (row.stopped_at || !row.last_seen_at) return 'down';
  return now.getTime() - row.last_seen_at.getTime() <= downAfterSeconds * 1000 ? 'up' : 'down';
}

/** Whether the compute service of `host` is up by the same rule (a host never registered is down). */
export async function computeServiceUp(db: Queryable, host: string, now: Date, downAfterSeconds: number): Promise<boolean> {
  const { rows } = await db.query<{ last_seen_at: Date | null; stopped_at: Date | null }>(
    `SELECT last_seen_at, stopped_at FROM services WHERE host = $1 AND binary_name = 'aster-compute'`,
    [host],
  );
  return rows[0] ? serviceStatus(rows[0], now, downAfterSeconds) === 'up' : false;
}

/** Whether `host` may take a build now: its compute service is up, enabled and not forced down. */
export async function computeServiceUsable(db: Queryable, host: string, downAfterSeconds: number): Promise<boolean> {
  const { rows } = await db.query<{ usable: boolean }>(
    `SELECT (NOT disabled AND NOT forced_down AND stopped_at IS NULL AND last_seen_at > now() - make_interval(secs => $2)) AS usable
       FROM services WHERE host = $1 AND binary_name = 'aster-compute'`,
    [host, downAfterSeconds],
  );
  return rows[0]?.usable ?? false;
}
