import type { InstanceSpecPayload } from '@aster/jobs';
import type { Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';
import type { InstanceRow } from '../compute/instances.ts';
import type { PortRow } from '../compute/ipam.ts';
import { signImagePath } from '../images/signed.ts';

/** What a host needs of an image to fetch and check it. */
export interface ImageDetails {
  disk_format: 'qcow2' | 'raw' | 'iso';
  checksum_sha256: string | null;
  size_bytes: string | null;
  properties: Record<string, string>;
}

/** How long a host may take to start fetching an image it was sent: builds may wait in its queue. */
export const IMAGE_DOWNLOAD_TTL_SECONDS = 6 * 3600;

/** The image's details; NotFound, in words a tenant understands, when it was deleted before the server was built. */
export async function readImageDetails(db: Queryable, image: { id: string; name: string }): Promise<ImageDetails> {
  const { rows } = await db.query<ImageDetails>('SELECT disk_format, checksum_sha256, size_bytes, properties FROM images WHERE id = $1', [image.id]);
  if (!rows[0]) throw new AsterError('NotFound', `image ${image.name} (${image.id}) was deleted before the server was built`);
  return rows[0];
}

/**
 * Everything a host needs to create the instance from `image` (its own, or a new one for a rebuild), read
 * here and sent once: the flavor, the image with a signed URL for its data, the ports, key and user data.
 */
export async function instanceSpecFor(
  db: Queryable,
  row: InstanceRow,
  ports: PortRow[],
  o: { image: { id: string; name: string }; secret: string; now: Date; details?: ImageDetails | null },
): Promise<InstanceSpecPayload> {
  // Read here unless the caller read it already (the scheduler does, with the instance in one statement).
  const image = o.details ?? (await readImageDetails(db, o.image));
  const networks = await networkDetails(db, [...new Set(ports.map((p) => p.networkId))]);
  const expiresAt = new Date(o.now.getTime() + IMAGE_DOWNLOAD_TTL_SECONDS * 1000);
  return {
    id: row.id,
    name: row.name,
    hostname: row.hostname,
    projectId: row.project_id,
    flavor: row.flavor,
    image: {
      id: o.image.id,
      name: o.image.name,
      diskFormat: image.disk_format,
      checksumSha256: image.checksum_sha256,
      sizeBytes: image.size_bytes === null ? null : Number(image.size_bytes),
      properties: image.properties,
      downloadPath: signImagePath(o.secret, { imageId: o.image.id, op: 'read', expiresAt }),
    },
    ports: ports.map((p) => ({
      id: p.id,
      networkId: p.networkId,
      networkName: p.networkName,
      bridge: p.bridge,
      mac: p.mac,
      ip: p.ip,
      cidr: p.cidr,
      gateway: p.gateway,
      dnsServers: p.dnsServers,
      ...(networks.get(p.networkId) ?? { external: true, mtu: 1500, metadata: null }),
    })),
    keyName: row.key_name,
    keyData: row.key_data,
    userData: row.user_data,
    metadata: row.metadata,
    reservationId: row.reservation_id,
    launchIndex: row.launch_index,
    createdAt: row.created_at.toISOString(),
  };
}

type NetworkDetails = Pick<InstanceSpecPayload['ports'][number], 'external' | 'mtu' | 'metadata'>;

/** What a host needs of each network beyond the port: external or not, its MTU, and its metadata port. */
async function networkDetails(db: Queryable, ids: string[]): Promise<Map<string, NetworkDetails>> {
  if (!ids.length) return new Map();
  const { rows } = await db.query<{ id: string; external: boolean; mtu: number; port_id: string | null; mac: string | null; ip: string | null; prefix: number | null }>(
    `SELECT n.id, n.external, n.mtu, m.id AS port_id, m.mac::text AS mac, host(m.ip) AS ip, masklen(s.cidr) AS prefix
       FROM networks n
       LEFT JOIN ports m ON m.network_id = n.id AND m.device_owner = 'network:distributed'
       LEFT JOIN subnets s ON s.id = m.subnet_id
      WHERE n.id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        external: r.external,
        mtu: r.mtu,
        metadata: r.port_id && r.mac && r.ip && r.prefix !== null ? { portId: r.port_id, mac: r.mac, ip: r.ip, prefixLength: r.prefix } : null,
      },
    ]),
  );
}
