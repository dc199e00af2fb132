import type { Explanation, ResourceRequest } from '@aster/compute';
import { buildInstance, computeQueue, type InstanceSpecPayload, type Jobs } from '@aster/jobs';
import { transaction, type Pool, type PoolClient, type Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';
import { finishAction, loadInstance, openAction, recordEvent, recordFault, type InstanceRow } from '../compute/instances.ts';
import { allocatePorts, allocatePortsMany, freePorts, type PortRow } from '../compute/ipam.ts';
import { claimManyIn, freeAllocations } from '../compute/placement.ts';
import { claimForInstance, memberHosts, type ClaimOutcome, type InstanceGroup } from '../compute/group-placement.ts';
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
async function buildJob(
  client: PoolClient,
  row: InstanceRow,
  ports: PortRow[],
  d: { host: string; attempt: number; requestId: string; secret: string; image?: ImageDetails | null },
) {
  const instance = await instanceSpecFor(client, row, ports, { image: { id: row.image_id, name: row.image.name }, secret: d.secret, now: new Date(), details: d.image ?? null });
  return { contract: buildInstance, queue: computeQueue(d.host), payload: { attempt: d.attempt, instance }, requestId: d.requestId };
}

async function sendBuild(
  client: PoolClient,
  jobs: Jobs,
  row: InstanceRow,
  ports: PortRow[],
  d: { host: string; attempt: number; requestId: string; secret: string; image?: ImageDetails | null },
): Promise<void> {
  await jobs.sendMany([await buildJob(client, row, ports, d)], { requestId: d.requestId, db: client });
}

/**
 * First placements recorded, in one statement: each instance's host and alternates (task `spawning`) and its
 * `schedule` event, spanning its decision from `startedAt` to `decided`. Answers the rows of those still waiting
 * for a host (not deleted nor placed meanwhile); the caller undoes its transaction when one is missing.
 */
async function recordPlacements(
  client: PoolClient,
  placed: { instanceId: string; host: string; alternates: string[]; event: { actionId: string | null; startedAt: Date } }[],
  decided: Date,
): Promise<InstanceRow[]> {
  // The ids also as a plain list, matched against the primary key whatever the planner thinks of the list's
  // length (a join with it scanned the whole table when the table's statistics were behind).
  const { rows } = await client.query<InstanceRow>(
    `WITH r AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::uuid[], $5::timestamptz[]) AS r(id, host, alternates, action_id, started_at)),
     placed AS (
       UPDATE instances i SET host = r.host, attempts = 1, task_state = 'spawning', task_started_at = clock_timestamp(),
              alternates = ARRAY(SELECT a FROM jsonb_array_elements_text(r.alternates) WITH ORDINALITY AS x(a, k) ORDER BY k)
         FROM r WHERE i.id = r.id AND i.id = ANY($1::uuid[]) AND i.deleted_at IS NULL AND i.vm_state = 'building' AND i.task_state = 'scheduling'
       RETURNING i.*),
     event AS (
       INSERT INTO instance_action_events (action_id, event, host, result, started_at, finished_at)
       SELECT r.action_id, 'schedule', r.host, 'Success', r.started_at, $6 FROM placed JOIN r ON r.id = placed.id WHERE r.action_id IS NOT NULL)
     SELECT * FROM placed`,
    [
      placed.map((c) => c.instanceId),
      placed.map((c) => c.host),
      placed.map((c) => JSON.stringify(c.alternates)),
      placed.map((c) => c.event.actionId),
      placed.map((c) => c.event.startedAt),
      decided,
    ],
  );
  return rows;
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
      const [row] = await recordPlacements(client, [p], decided);
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

/** One instance of a request, on the host its decision chose. */
export interface Placement {
  instanceId: string;
  providerId: string;
  host: string;
  resources: ResourceRequest;
  alternates: string[];
  /** The create action, and when the instance's decision began. */
  event: { actionId: string | null; startedAt: Date };
  /** The image as read with the instance, when it was. */
  image?: ImageDetails | null;
  /** The request that created the instance, carried by its build. */
  requestId: string;
}

export type PlacementOutcome = 'no-room' | 'placed';

/** Undoes a request's placement: one of its instances changed meanwhile. */
class Changed extends Error {}

/**
 * The scheduler's placement of several instances (a request's, as Nova's multi-create, or of requests taken
 * together from its queue), in one transaction: under the
 * group's lock when the group has a hard policy, the instances' ports first; then `choose` decides each
 * instance's host (given where the group's other members are, read under that lock), and its claims follow at
 * once, in one statement, so that a decision ends as soon as it can and the hosts' rows are locked only for
 * the rest: every host recorded with its `schedule` event in one statement, and the builds sent in one
 * statement. An instance whose host has no room left for it is left out ('no-room': the caller decides it
 * again, and its ports stay for that); the others are 'placed'. Answers null, with nothing done, when an
 * instance was deleted (or placed by another worker) meanwhile, and throws what ports or the image refuse (an
 * AsterError), undoing all of it: the caller then places the instances one by one, where such a refusal ends
 * only the build it concerns.
 */
export async function placeTogether(
  db: Pool,
  jobs: Jobs,
  p: {
    instances: { id: string; networkIds: string[] }[];
    group: InstanceGroup | null;
    choose: (members: Record<string, number> | null) => Placement[];
    secret: string;
  },
): Promise<Map<string, PlacementOutcome> | null> {
  const outcomes = new Map<string, PlacementOutcome>();
  try {
    await transaction(db, async (client) => {
      outcomes.clear();
      const g = p.group;
      let members: Record<string, number> | null = null;
      if (g) {
        // A hard policy: the group's lock first (as every claim takes it). A group deleted meanwhile no longer
        // binds its former members. Those of this request hold no place yet.
        const hard = g.policy === 'affinity' || g.policy === 'anti-affinity';
        const locked = hard ? ((await client.query('SELECT 1 FROM server_groups WHERE id = $1 FOR UPDATE', [g.id])).rowCount ?? 0) > 0 : true;
        if (locked) members = await memberHosts(client, g.id, p.instances[0]!.id);
      }
      const ports = await allocatePortsMany(
        client,
        p.instances.map((i) => ({ instanceId: i.id, networkIds: i.networkIds })),
      );
      const asked = p.choose(members);
      if (asked.length === 0) return;
      const granted = await claimManyIn(
        client,
        asked.map((a) => ({ providerId: a.providerId, consumerId: a.instanceId, request: a.resources })),
      );
      // The decisions end here, with the claims held; what follows is dispatching them.
      const decided = new Date();
      const claimed = asked.filter((a) => granted.has(a.providerId.toLowerCase()));
      for (const a of asked) if (!granted.has(a.providerId.toLowerCase())) outcomes.set(a.instanceId, 'no-room');
      if (claimed.length === 0) return;
      const rows = await recordPlacements(client, claimed, decided);
      if (rows.length < claimed.length) throw new Changed();
      const byId = new Map(rows.map((r) => [r.id.toLowerCase(), r]));
      const builds = [];
      for (const c of claimed) {
        const row = byId.get(c.instanceId.toLowerCase())!;
        builds.push(await buildJob(client, row, ports.get(c.instanceId)!, { ...c, attempt: 1, secret: p.secret }));
        outcomes.set(c.instanceId, 'placed');
      }
      await jobs.sendMany(builds, { requestId: claimed[0]!.requestId, db: client });
    });
  } catch (error) {
    if (error instanceof Changed) return null;
    throw error;
  }
  return outcomes;
}
