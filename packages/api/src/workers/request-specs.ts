import type { RequestSpec } from '@aster/compute';
import { matchIds, type Pool } from '@aster/db';
import type { InstanceRow } from '../compute/instances.ts';
import { groupRequest, type InstanceGroup } from '../compute/group-placement.ts';
import type { ImageDetails } from './instance-spec.ts';

/**
 * What a scheduling decision needs of its instances, read from the database: each instance with its image's
 * details, its create action and its server group, and the request spec the filters and weighers read.
 */

/** An instance as a decision reads it. */
export type WaitingRow = InstanceRow & {
  image_disk_format: ImageDetails['disk_format'] | null;
  image_checksum_sha256: string | null;
  image_size_bytes: string | null;
  min_ram_mb: number | null;
  min_disk_gb: number | null;
  image_properties: Record<string, string> | null;
  action_id: string | null;
  group_id: string | null;
  group_name: string | null;
  group_policy: InstanceGroup['policy'] | null;
  max_server_per_host: number | null;
};

/** The instances in one statement, by id in lower case (as Postgres answers ids). */
export async function readInstances(db: Pool, ids: string[]): Promise<Map<string, WaitingRow>> {
  const byId = matchIds('i.id', ids, 1);
  const { rows } = await db.query<WaitingRow>(
    `SELECT i.*, img.min_ram_mb, img.min_disk_gb, img.properties AS image_properties,
            img.disk_format AS image_disk_format, img.checksum_sha256 AS image_checksum_sha256, img.size_bytes AS image_size_bytes,
            (SELECT a.id FROM instance_actions a WHERE a.instance_id = i.id AND a.action = 'create' ORDER BY a.started_at DESC LIMIT 1) AS action_id,
            g.id AS group_id, g.name AS group_name, g.policy AS group_policy, g.max_server_per_host
       FROM instances i LEFT JOIN images img ON img.id = i.image_id
       LEFT JOIN server_group_members gm ON gm.instance_id = i.id LEFT JOIN server_groups g ON g.id = gm.group_id
      WHERE ${byId.sql}`,
    [byId.value],
  );
  return new Map(rows.map((r) => [r.id.toLowerCase(), r]));
}

/** Whether the instance still waits for a host (not placed by an earlier try, nor deleted). */
export const waiting = (row: WaitingRow) => !row.deleted_at && row.vm_state === 'building' && row.task_state === 'scheduling';

export function groupOfRow(row: WaitingRow): InstanceGroup | null {
  return row.group_id && row.group_policy
    ? { id: row.group_id, name: row.group_name ?? '', policy: row.group_policy, maxServerPerHost: row.max_server_per_host }
    : null;
}

/** What the filters and weighers ask of the hosts for this instance; `members`: where its group's other members are. */
export async function specFor(db: Pool, row: WaitingRow, members: Record<string, number> | null): Promise<RequestSpec> {
  const group = groupOfRow(row);
  return {
    resources: { vcpus: row.flavor.vcpus, ramMb: row.flavor.ramMb, diskGb: row.flavor.diskGb },
    image: { minRamMb: row.min_ram_mb ?? 0, minDiskGb: row.min_disk_gb ?? 0, properties: row.image_properties ?? {} },
    flavorExtraSpecs: row.flavor.extraSpecs ?? {},
    availabilityZone: row.availability_zone,
    group: group && members ? groupRequest(group, members) : null,
    hints: await resolveHints(db, row),
    ignoreHosts: [],
  };
}

/** The image's details as read with the instance (none if the image is gone: the build then says so). */
export const imageOf = (row: WaitingRow): ImageDetails | null =>
  row.image_disk_format
    ? { disk_format: row.image_disk_format, checksum_sha256: row.image_checksum_sha256, size_bytes: row.image_size_bytes, properties: row.image_properties ?? {} }
    : null;

/** Scheduler hints name servers; the filters need the hosts those servers are on. */
async function resolveHints(db: Pool, row: InstanceRow): Promise<RequestSpec['hints']> {
  const { sameHost, differentHost } = row.scheduler_hints ?? {};
  if (!sameHost?.length && !differentHost?.length) return { sameHost: null, differentHost: null };
  const ids = [...(sameHost ?? []), ...(differentHost ?? [])];
  const { rows } = await db.query<{ id: string; host: string | null }>('SELECT id, host FROM instances WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL', [ids]);
  const hostOf = new Map(rows.map((r) => [r.id, r.host]));
  const hosts = (list: string[] | undefined) => (list?.length ? [...new Set(list.map((id) => hostOf.get(id)).filter((h): h is string => !!h))] : null);
  return { sameHost: hosts(sameHost), differentHost: hosts(differentHost) };
}
