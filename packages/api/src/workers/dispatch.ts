import type { Explanation } from '@aster/compute';
import { buildInstance, computeQueue, type InstanceSpecPayload, type Jobs } from '@aster/jobs';
import { transaction, type Pool, type PoolClient, type Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';
import { finishAction, loadInstance, openAction, recordEvent, recordFault, type InstanceRow } from '../compute/instances.ts';
import { allocatePorts, freePorts, type PortRow } from '../compute/ipam.ts';
import { freeAllocations } from '../compute/placement.ts';
import { claimForInstance, type ClaimOutcome, type InstanceGroup } from '../compute/group-placement.ts';
import { signImagePath } from '../images/signed.ts';

export interface ImageDetails {
  disk_format: 'qcow2' | 'raw' | 'iso';
  checksum_sha256: string | null;
  size_bytes: string | null;
  properties: Record<string, string>;
}

/** How long a host may take to start fetching an image it was sent: builds may wait in its queue. */
export const IMAGE_DOWNLOAD_TTL_SECONDS = 6 * 3600;

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
  // Read here unless the caller read it with the instance (the scheduler does, in the same statement).
  const image = o.details ?? (await db.query<ImageDetails>('SELECT disk_format, checksum_sha256, size_bytes, properties FROM images WHERE id = $1', [o.image.id])).rows[0];
  if (!image) throw new AsterError('NotFound', `image ${o.image.name} (${o.image.id}) was deleted before the server was built`);
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

/** The job that asks `host` to build the instance (already in task `spawning`), with the ports it was given. */
async function sendBuild(
  client: PoolClient,
  jobs: Jobs,
  row: InstanceRow,
  ports: PortRow[],
  d: { host: string; attempt: number; requestId: string; secret: string; image?: ImageDetails | null },
): Promise<void> {
  const instance = await instanceSpecFor(client, row, ports, { image: { id: row.image_id, name: row.image.name }, secret: d.secret, now: new Date(), details: d.image ?? null });
  await jobs.send(buildInstance, computeQueue(d.host), { attempt: d.attempt, instance }, { requestId: d.requestId, db: client });
}

/**
 * Puts a claimed instance on `host`: records the host (task `networking`, visible to watchers), then in a
 * second step allocates its ports and sends the build (task `spawning`). Answers false when the instance is
 * no longer waiting for a host (deleted meanwhile); the caller then frees the claim.
 */
export async function dispatchBuild(
  db: Pool,
  jobs: Jobs,
  instanceId: string,
  d: {
    host: string;
    alternates: string[];
    attempt: number;
    requestId: string;
    fromTask: 'scheduling' | 'spawning';
    /** Signs the URL the host fetches the image from. */
    secret: string;
  },
): Promise<boolean> {
  const placed = await db.query<InstanceRow>(
    `UPDATE instances SET host = $2, alternates = $3, attempts = $4, task_state = 'networking', task_started_at = clock_timestamp()
      WHERE id = $1 AND deleted_at IS NULL AND vm_state = 'building' AND task_state = $5 RETURNING *`,
    [instanceId, d.host, d.alternates, d.attempt, d.fromTask],
  );
  const row = placed.rows[0];
  if (!row) return false;
  try {
    // Ports in a transaction of their own: the subnet's lock is held for the allocation only, not while the
    // build is sent, so builds on one network do not queue behind each other. A retry keeps its ports.
    const ports = await transaction(db, (client) => allocatePorts(client, row.id, row.requested_networks));
    await transaction(db, async (client) => {
      await client.query(`UPDATE instances SET task_state = 'spawning' WHERE id = $1`, [row.id]);
      await sendBuild(client, jobs, row, ports, d);
    });
  } catch (error) {
    if (!(error instanceof AsterError)) throw error;
    // No address left, or the image went away: nothing a retry elsewhere fixes.
    await failBuild(db, instanceId, error.message, null);
  }
  return true;
}

/** The end of a build that cannot succeed: ERROR with a fault, the claim and ports given back. */
export async function failBuild(
  db: Pool,
  instanceId: string,
  message: string,
  details: string | null,
  host?: string | null,
  explanation?: Explanation | null,
): Promise<void> {
  await transaction(db, async (client) => {
    const row = await loadInstance(client, instanceId, { forUpdate: true });
    if (!row || row.deleted_at || row.vm_state !== 'building') return;
    await client.query(`UPDATE instances SET vm_state = 'error', task_state = NULL WHERE id = $1`, [instanceId]);
    await freeAllocations(client, instanceId);
    await freePorts(client, instanceId);
    await recordFault(client, { instanceId, code: 500, message, details, host: host ?? row.host, explanation: explanation ?? null });
    const actionId = await openAction(client, instanceId, 'create');
    // Tenants read events: the message, not the details (host names, stack traces) meant for administrators.
    await recordEvent(client, { actionId, event: 'build', host: host ?? row.host, result: 'Error', details: message });
    if (actionId) await finishAction(client, actionId, message);
  });
}

/** Undoes a placement's transaction, answering why. */
class Undo extends Error {
  constructor(readonly outcome: Exclude<ClaimOutcome, 'claimed'> | 'gone') {
    super(outcome);
  }
}

/**
 * The scheduler's placement of one instance, in one transaction: the claim on `host` (under the group's lock
 * when the group has a hard policy), the host recorded, ports allocated, the build sent and the `schedule` event
 * written. Nothing of it stays when any part fails: answers 'no-room' or 'group' (try the next host), 'gone'
 * (deleted or placed meanwhile), or 'placed'. A placement no host could fix (no address left, the image gone)
 * ends the build in ERROR.
 */
export async function placeAndBuild(
  db: Pool,
  jobs: Jobs,
  p: {
    instanceId: string;
    providerId: string;
    host: string;
    resources: { vcpus: number; ramMb: number; diskGb: number };
    group: InstanceGroup | null;
    alternates: string[];
    requestId: string;
    secret: string;
    event: { actionId: string | null; startedAt: Date };
    /** The image as read with the instance, when it was. */
    image?: ImageDetails | null;
  },
): Promise<Exclude<ClaimOutcome, 'claimed'> | 'gone' | 'placed'> {
  try {
    return await transaction(db, async (client) => {
      const claimed = await claimForInstance(client, p);
      if (claimed !== 'claimed') throw new Undo(claimed);
      // The decision ends here, with the claim held; what follows is dispatching it.
      const decided = new Date();
      // The host recorded and the `schedule` event written, in one statement.
      const { rows } = await client.query<InstanceRow>(
        `WITH placed AS (
           UPDATE instances SET host = $2, alternates = $3, attempts = 1, task_state = 'spawning', task_started_at = clock_timestamp()
            WHERE id = $1 AND deleted_at IS NULL AND vm_state = 'building' AND task_state = 'scheduling' RETURNING *),
         event AS (
           INSERT INTO instance_action_events (action_id, event, host, result, started_at, finished_at)
           SELECT $4::uuid, 'schedule', $2, 'Success', $5, $6 FROM placed WHERE $4::uuid IS NOT NULL)
         SELECT * FROM placed`,
        [p.instanceId, p.host, p.alternates, p.event.actionId, p.event.startedAt, decided],
      );
      const row = rows[0];
      if (!row) throw new Undo('gone');
      await sendBuild(client, jobs, row, await allocatePorts(client, row.id, row.requested_networks), { ...p, attempt: 1 });
      return 'placed' as const;
    });
  } catch (error) {
    if (error instanceof Undo) return error.outcome;
    if (!(error instanceof AsterError)) throw error;
    // No address left, or the image went away: nothing another host fixes.
    await failBuild(db, p.instanceId, error.message, null);
    return 'placed';
  }
}

