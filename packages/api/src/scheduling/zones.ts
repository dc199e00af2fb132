import type { Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';
import { serviceStatus } from '../services/registry.ts';

/**
 * The zone of the host named by the SQL expression `host` (qualify it: a bare `host` would mean `ah.host` here): its zone aggregate's, else NULL (the default zone,
 * which is configuration and so is filled in by the caller). Nova's rule keeps one host out of two zones.
 */
export const hostZoneSql = (host: string) =>
  `(SELECT min(a.availability_zone) FROM aggregate_hosts ah JOIN aggregates a ON a.id = ah.aggregate_id
     WHERE ah.host = ${host} AND a.availability_zone IS NOT NULL)`;

/**
 * Every zone a server may ask for, sorted: each zone named by an aggregate, and the default zone when a compute
 * host is in none (or there is no host yet, so a new cloud has its default zone).
 */
export async function zoneNames(db: Queryable, defaultZone: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT DISTINCT availability_zone AS name FROM aggregates WHERE availability_zone IS NOT NULL
     UNION
     SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM compute_nodes) OR EXISTS (SELECT 1 FROM compute_nodes cn WHERE ${hostZoneSql('cn.host')} IS NULL)`,
    [defaultZone],
  );
  return rows.map((r) => r.name).sort();
}

/** Refuses a zone that does not exist, listing those that do. */
export async function checkZoneExists(db: Queryable, zone: string, defaultZone: string): Promise<void> {
  // The usual answer in one short look (a zone an aggregate names, or the default zone with a host in no zone);
  // the whole list only to say which zones there are.
  const { rows: found } = await db.query(
    `SELECT 1 FROM aggregates WHERE availability_zone = $1
     UNION ALL
     (SELECT 1 FROM compute_nodes cn WHERE $1 = $2 AND ${hostZoneSql('cn.host')} IS NULL LIMIT 1)
     UNION ALL
     SELECT 1 WHERE $1 = $2 AND NOT EXISTS (SELECT 1 FROM compute_nodes)
     LIMIT 1`,
    [zone, defaultZone],
  );
  if (found.length) return;
  const zones = await zoneNames(db, defaultZone);
  if (zones.includes(zone)) return;
  throw new AsterError('InvalidInput', `Availability zone '${zone}' does not exist; zones are: ${zones.join(', ') || 'none'}`);
}

export interface ZoneHost {
  host: string;
  status: 'up' | 'down';
  state: 'enabled' | 'disabled';
  forcedDown: boolean;
}

export interface Zone {
  name: string;
  /** At least one host in it is up, enabled and not forced down. */
  available: boolean;
  hosts: ZoneHost[];
}

/** The zones with their compute hosts, each with the state of its compute service (none registered: down). */
export async function zonesWithHosts(db: Queryable, defaultZone: string, now: Date, downSeconds: number): Promise<Zone[]> {
  const [names, hosts] = await Promise.all([
    zoneNames(db, defaultZone),
    db.query<{ host: string; zone: string | null; disabled: boolean | null; forced_down: boolean | null; last_seen_at: Date | null; stopped_at: Date | null }>(
      `SELECT cn.host, ${hostZoneSql('cn.host')} AS zone, s.disabled, s.forced_down, s.last_seen_at, s.stopped_at
         FROM compute_nodes cn LEFT JOIN services s ON s.host = cn.host AND s.binary_name = 'aster-compute'
        ORDER BY cn.host`,
    ),
  ]);
  const zones = new Map<string, Zone>(names.map((name) => [name, { name, available: false, hosts: [] }]));
  for (const r of hosts.rows) {
    const zone = zones.get(r.zone ?? defaultZone);
    if (!zone) continue;
    const forcedDown = r.forced_down ?? false;
    const h: ZoneHost = {
      host: r.host,
      status: forcedDown ? 'down' : serviceStatus(r, now, downSeconds),
      state: r.disabled ? 'disabled' : 'enabled',
      forcedDown,
    };
    zone.hosts.push(h);
    if (h.status === 'up' && h.state === 'enabled') zone.available = true;
  }
  return [...zones.values()];
}
