import { DEFAULT_AVAILABILITY_ZONE, type MetadataSource } from '@aster/compute';
import type { Queryable } from '@aster/db';
import { portsOf } from '../compute/ipam.ts';

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
  created_at: Date;
};

/** The instance as its metadata describes it, or null when there is no such instance (or it is deleted). */
export async function loadMetadataSource(db: Queryable, instanceId: string): Promise<MetadataSource | null> {
  if (!UUID.test(instanceId)) return null;
  const { rows } = await db.query<Row>(
    `SELECT id, project_id, name, hostname, key_name, key_data, user_data, metadata, launch_index, reservation_id,
            flavor->>'name' AS flavor_name, created_at
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
    // Aster has one availability zone, Nova's default.
    availabilityZone: DEFAULT_AVAILABILITY_ZONE,
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
