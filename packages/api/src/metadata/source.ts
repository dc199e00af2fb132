import { DEFAULT_AVAILABILITY_ZONE, type MetadataSource } from '@aster/compute';
import type { Queryable } from '@aster/db';
import { portsOf } from '../compute/ipam.ts';
import { hostZoneSql } from '../scheduling/zones.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Row = {
  id: string;
  project_id: string;
  name: string;
  hostname: string;
  key_name: string | null;
  key_data: string | null;
  user_data: string | null;
  metadata: Record<string, string>;
  launch_index: number;
  reservation_id: string;
  flavor_name: string | null;
  zone: string | null;
  created_at: Date;
};

/**
 * The instance as its metadata describes it, or null when there is no such instance (or it is deleted).
 * `defaultZone` is the zone of hosts in no zone aggregate (ApiConfig.defaultAvailabilityZone).
 */
export async function loadMetadataSource(db: Queryable, instanceId: string, defaultZone = DEFAULT_AVAILABILITY_ZONE): Promise<MetadataSource | null> {
  if (!UUID.test(instanceId)) return null;
  const { rows } = await db.query<Row>(
    `SELECT id, project_id, name, hostname, key_name, key_data, user_data, metadata, launch_index, reservation_id,
            flavor->>'name' AS flavor_name, created_at,
            CASE WHEN host IS NULL THEN availability_zone ELSE ${hostZoneSql('instances.host')} END AS zone
       FROM instances WHERE id = $1 AND deleted_at IS NULL AND vm_state <> 'deleted'`,
    [instanceId],
  );
  const row = rows[0];
  if (!row) return null;
  const ports = (await portsOf(db, [row.id])).get(row.id) ?? [];
  return {
    id: row.id,
    name: row.name,
    hostname: row.hostname,
    projectId: row.project_id,
    // The zone of its host (a guest asking has one), else the one it asked for.
    availabilityZone: row.zone ?? defaultZone,
    keyName: row.key_name,
    keyData: row.key_data,
    userData: row.user_data,
    metadata: row.metadata,
    ports: ports.map((p) => ({ id: p.id, networkId: p.networkId, networkName: p.networkName, mac: p.mac, ip: p.ip, cidr: p.cidr, gateway: p.gateway, dnsServers: p.dnsServers })),
    launchIndex: row.launch_index,
    reservationId: row.reservation_id,
    flavorName: row.flavor_name,
    createdAt: row.created_at.toISOString(),
  };
}
