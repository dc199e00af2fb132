import type { Explanation, ResourceRequest } from '@aster/compute';
import { buildInstance, computeQueue, type Jobs } from '@aster/jobs';
import { transaction, type Pool, type PoolClient } from '@aster/db';
import type { Logger } from '@aster/log';
import { defaultApiConfig } from '../context.ts';
import { AsterError } from '../errors.ts';
import { finishAction, loadInstance, openAction, recordEvent, recordFault, type InstanceRow } from '../compute/instances.ts';
import { allocatePorts, allocatePortsMany, freePorts, type PortRow } from '../compute/ipam.ts';
import { claimManyIn, freeAllocations, providerIdOf } from '../compute/placement.ts';
import { claimForInstance, groupOf, memberHosts, type InstanceGroup } from '../compute/group-placement.ts';
import { computeServiceUsable } from '../services/registry.ts';
import { instanceSpecFor, readImageDetails, type ImageDetails } from './instance-spec.ts';
import { once } from './reports.ts';

/**
 * A build's life between servers.create and its host's answer. The scheduler places instances (`place`: one
 * transaction per set of them, a single instance being a set of one); a build its host fails moves to the next
 * alternate (`rescheduleOrFail`, one transaction too); a build that cannot succeed ends in ERROR (`failBuild`).
 * Either way the claim, the host recorded and the build sent commit together or not at all.
 */

/** One instance on the host its decision chose. */
export interface Placement {
  instanceId: string;
  providerId: string;
  host: string;
  resources: ResourceRequest;
  alternates: string[];
  /** The create action, and when the instance's decision began (a first placement records it as `schedule`). */
  event: { actionId: string | null; startedAt: Date };
  /** The image as read with the instance, when it was. */
  image?: ImageDetails | null;
  /** The request that created the instance, carried by its build. */
  requestId: string;
}

/**
 * What became of an instance in `place`: 'placed' (its build sent), 'no-room' (its host had no room left for
 * it: the caller decides it again), or 'failed' (alone in its set, refused by its ports or image: its build
 * ended in ERROR). An instance its caller chose no host for has no outcome.
 */
export type PlacementOutcome = 'placed' | 'no-room' | 'failed';

/** Undoes a placement's transaction: one of its instances changed meanwhile. */
class Changed extends Error {}

/**
 * The scheduler's placement of a set of instances (one, a request's, or requests taken together from its
 * queue), in one transaction: under the group's lock when the group has a hard policy, the instances' ports
 * first; then `choose` decides each instance's host (given where the group's other members are, read under that
 * lock), and its claims follow at once, in one statement, so that a decision ends as soon as it can and the
 * hosts' rows are locked only for the rest: every host recorded with its `schedule` event in one statement, and
 * the builds sent in one statement (`dispatchBuilds`). An instance whose host has no room left is left out
 * ('no-room'), its ports kept for its next try; the others are 'placed'. Answers null, with nothing done, when
 * an instance was deleted (or placed by another worker) meanwhile. A refusal of ports or image (no address
 * left, the image deleted), which no other host fixes, ends the build of an instance alone in its set
 * ('failed'); for several it is thrown, undoing all of it, and the caller places them one by one.
 */
export async function place(
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
      const g = p.group;
      let members: Record<string, number> | null = null;
      if (g) {
        // A hard policy: the group's lock first (as every claim takes it). A group deleted meanwhile no longer
        // binds its former members. Those of this set hold no place yet.
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
      if (!(await dispatchBuilds(client, jobs, claimed, ports, { attempt: 1, decided, secret: p.secret }))) throw new Changed();
      for (const c of claimed) outcomes.set(c.instanceId, 'placed');
    });
  } catch (error) {
    if (error instanceof Changed) return null;
    if (!(error instanceof AsterError) || p.instances.length > 1) throw error;
    // No address left, or the image went away: nothing another host fixes.
    const only = p.instances[0]!.id;
    await failBuild(db, only, error.message, null);
    return new Map([[only, 'failed']]);
  }
  return outcomes;
}

/**
 * Claimed instances sent to their hosts, inside the caller's transaction: each one's host, alternates and
 * attempt recorded (task `spawning`, from `scheduling` on a first attempt, from `spawning` on a retry) in one
 * statement, a first attempt's `schedule` event spanning its decision from `startedAt` to `decided`, and the
 * builds sent in one statement. Answers false, having sent nothing, when an instance is not where its caller
 * found it (deleted, or placed by another worker, meanwhile): the caller must then undo its transaction.
 */
async function dispatchBuilds(
  client: PoolClient,
  jobs: Jobs,
  placed: Placement[],
  ports: Map<string, PortRow[]>,
  o: { attempt: number; decided: Date; secret: string },
): Promise<boolean> {
  // The ids also as a plain list, matched against the primary key whatever the planner thinks of the list's
  // length (a join with it scanned the whole table when the table's statistics were behind).
  const { rows } = await client.query<InstanceRow>(
    `WITH r AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::uuid[], $5::timestamptz[]) AS r(id, host, alternates, action_id, started_at)),
     placed AS (
       UPDATE instances i SET host = r.host, attempts = $7, task_state = 'spawning', task_started_at = clock_timestamp(),
              alternates = ARRAY(SELECT a FROM jsonb_array_elements_text(r.alternates) WITH ORDINALITY AS x(a, k) ORDER BY k)
         FROM r WHERE i.id = r.id AND i.id = ANY($1::uuid[]) AND i.deleted_at IS NULL AND i.vm_state = 'building' AND i.task_state = $8
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
      o.decided,
      o.attempt,
      o.attempt === 1 ? 'scheduling' : 'spawning',
    ],
  );
  if (rows.length < placed.length) return false;
  const byId = new Map(rows.map((r) => [r.id.toLowerCase(), r]));
  const now = new Date();
  const builds = [];
  for (const c of placed) {
    const row = byId.get(c.instanceId.toLowerCase())!;
    const instance = await instanceSpecFor(client, row, ports.get(c.instanceId) ?? [], {
      image: { id: row.image_id, name: row.image.name },
      secret: o.secret,
      now,
      details: c.image ?? null,
    });
    builds.push({ contract: buildInstance, queue: computeQueue(c.host), payload: { attempt: o.attempt, instance }, requestId: c.requestId });
  }
  await jobs.sendMany(builds, { requestId: placed[0]!.requestId, db: client });
  return true;
}

/** What moving a build on needs: the queues, and which hosts still take builds. */
export interface BuildDeps {
  db: Pool;
  jobs: Jobs;
  log: Logger;
  config: {
    serviceDownSeconds: number;
    /** Signs the image URLs in builds sent to alternates; the API's own (defaultApiConfig's) when not given. */
    serviceSecret?: string | undefined;
  };
}

/**
 * A build failed on `host` (its report, or the sweep taking it for lost): in one transaction, its claim there
 * given back and the failure recorded, then the next alternate claimed, recorded and sent the build, without
 * asking the scheduler again (its ports kept). With no alternate left, ERROR with a fault naming every failure.
 * A report seen before changes nothing.
 */
export async function rescheduleOrFail(
  deps: BuildDeps,
  instanceId: string,
  host: string,
  attempt: number,
  error: string,
  details: string | null,
  requestId: string,
): Promise<void> {
  let next: { host: string; attempt: number } | null = null;
  try {
    next = await transaction(deps.db, async (client) => {
      if (!(await once(client, `build:${instanceId}:${attempt}`))) return null;
      const row = await loadInstance(client, instanceId, { forUpdate: true });
      // Not this build any more: deleted, being deleted (its delete frees what it held), or moved on already.
      if (!row || row.deleted_at || row.vm_state !== 'building' || row.task_state !== 'spawning' || row.host !== host || row.attempts !== attempt) return null;
      // The group's lock before any provider's, as every claim takes them, so that claims never deadlock.
      const group = await groupOf(client, instanceId);
      if (group) await client.query('SELECT 1 FROM server_groups WHERE id = $1 FOR UPDATE', [group.id]);
      const providerId = await providerIdOf(client, host);
      if (providerId) await freeAllocations(client, instanceId, providerId);
      // Nova's BuildFailureWeigher: a host that keeps failing builds is tried last until one succeeds there.
      await client.query('UPDATE compute_nodes SET failed_builds = failed_builds + 1 WHERE host = $1', [host]);
      const actionId = await openAction(client, instanceId, 'create');
      await recordEvent(client, { actionId, event: 'build', host, result: 'Error', details: error });
      const fail = (message: string, why: string | null, at: string) => failBuildIn(client, instanceId, message, why, at).then(() => null);
      if (row.alternates.length === 0) return fail(failedOn(attempt, error), details ?? `${host}: ${error}`, host);
      // What the build needs whichever host takes it, before any host's row is locked by a claim: its ports (those
      // of the first attempt) and its image. A refusal there (the image deleted since) no other host fixes.
      let ports: PortRow[];
      let image: ImageDetails;
      try {
        ports = await allocatePorts(client, instanceId, row.requested_networks);
        image = await readImageDetails(client, { id: row.image_id, name: row.image.name });
      } catch (refused) {
        if (!(refused instanceof AsterError)) throw refused;
        return fail(refused.message, null, host);
      }
      const resources = { vcpus: row.flavor.vcpus, ramMb: row.flavor.ramMb, diskGb: row.flavor.diskGb };
      for (let i = 0; i < row.alternates.length; i++) {
        const alternate = row.alternates[i]!;
        const alt = await providerIdOf(client, alternate);
        // An alternate disabled, forced down or gone quiet since the decision takes no build.
        if (!alt || !(await computeServiceUsable(client, alternate, deps.config.serviceDownSeconds))) continue;
        if ((await claimForInstance(client, { providerId: alt, host: alternate, instanceId, resources, group })) !== 'claimed') continue;
        const placement: Placement = {
          instanceId,
          providerId: alt,
          host: alternate,
          resources,
          alternates: row.alternates.slice(i + 1),
          event: { actionId: null, startedAt: new Date() },
          image,
          requestId,
        };
        // The row is locked: it is where it was found.
        await dispatchBuilds(client, deps.jobs, [placement], new Map([[instanceId, ports]]), { attempt: attempt + 1, decided: new Date(), secret: deps.config.serviceSecret ?? defaultApiConfig.serviceSecret });
        return { host: alternate, attempt: attempt + 1 };
      }
      return fail(failedOn(attempt, error), details ?? `${host}: ${error}`, host);
    });
  } catch (refused) {
    // A refusal that ended the transaction itself (a statement the database refused): the build ends on its own.
    if (!(refused instanceof AsterError)) throw refused;
    await failBuild(deps.db, instanceId, refused.message, null);
    return;
  }
  if (next) deps.log.info('build rescheduled', { instanceId, from: host, to: next.host, attempt: next.attempt, error });
}

const failedOn = (attempts: number, error: string) => `Build failed on ${attempts} host${attempts === 1 ? '' : 's'}; the last said: ${error}`;

/** The end of a build that cannot succeed: ERROR with a fault, the claim and ports given back. */
export async function failBuild(
  db: Pool,
  instanceId: string,
  message: string,
  details: string | null,
  host?: string | null,
  explanation?: Explanation | null,
): Promise<void> {
  await transaction(db, (client) => failBuildIn(client, instanceId, message, details, host, explanation));
}

/** `failBuild` inside the caller's transaction. */
async function failBuildIn(
  client: PoolClient,
  instanceId: string,
  message: string,
  details: string | null,
  host?: string | null,
  explanation?: Explanation | null,
): Promise<void> {
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
}
