import {
  describeExplanation,
  explain,
  groupRefusal,
  redactExplanation,
  runFilters,
  selectHosts,
  type HostState,
  type RequestSpec,
  type ResourceRequest,
  type SelectOptions,
} from '@aster/compute';
import { recordEvent } from '../compute/instances.ts';
import { groupRequest, memberHosts, type InstanceGroup } from '../compute/group-placement.ts';
import { AsterError } from '../errors.ts';
import { failBuild, place, type PlacementOutcome } from './builds.ts';
import type { HostStateCache } from './host-cache.ts';
import { groupOfRow, imageOf, readInstances, specFor, waiting, type WaitingRow } from './request-specs.ts';
import { hostsOf, pipelineOf, secretOf, type SchedulerDeps } from './scheduler-config.ts';

/**
 * The scheduler's decisions (Nova's select_destinations): the hosts as this process knows them, filtered,
 * weighed and picked by @aster/compute's selectHosts, then placed (builds.ts's `place`), a few instances
 * at a time or one alone.
 */

/** Instances placed in one transaction at most: more would delay the first one's decision, and hold hosts' rows longer. */
export const PLACED_TOGETHER = 16;
/** A decision keeps going down its list of hosts; a group whose members moved meanwhile is decided again this often. */
const GROUP_ROUNDS = 3;
/** Claims lost in a row on a cached view before the decision is made again on a fresh one. */
const LOST_CLAIMS_BEFORE_REREAD = 5;

/** An instance waiting for a host, and the request that asked for it. */
interface Waiting {
  row: WaitingRow;
  requestId: string;
}

/**
 * Requests taken together from the queue (each Nova's select_destinations, for one instance or many), read
 * in one statement and placed a few instances at a time: consecutive instances without a group, or of the
 * same group, up to PLACED_TOGETHER, each such set decided and placed together. A request's instances stay in
 * launch order, and requests in the order they came.
 */
export async function scheduleRequests(deps: SchedulerDeps, requests: { instanceIds: string[]; requestId: string }[]): Promise<void> {
  const read = await readInstances(deps.db, requests.flatMap((r) => r.instanceIds));
  const sets: Waiting[][] = [];
  for (const request of requests) {
    for (const id of request.instanceIds) {
      const row = read.get(id.toLowerCase());
      if (!row || !waiting(row)) continue; // done already, or deleted
      const last = sets[sets.length - 1];
      if (last && last.length < PLACED_TOGETHER && groupOfRow(last[0]!.row)?.id === groupOfRow(row)?.id) last.push({ row, requestId: request.requestId });
      else sets.push([{ row, requestId: request.requestId }]);
    }
  }
  // A decision starts when it has its turn: until then it waits as jobs wait in the queue.
  for (const set of sets) {
    if (deps.turns) await deps.turns.run(() => decideTogether(deps, set));
    else await decideTogether(deps, set);
  }
}

/**
 * Instances of one group (or none) decided one after the other on the hosts as this scheduler knows them, each
 * decision seeing the places taken by those before it (its group's members among them), then placed in one
 * transaction; one instance alone, too, so that its decision ends with its claim. An instance left without a
 * place there (its host filled meanwhile, no host at all on this view, or a refusal of the set's ports or
 * image) is decided again on its own, down its list of hosts, and told why when none fits.
 */
async function decideTogether(deps: SchedulerDeps, set: Waiting[]): Promise<void> {
  const cache = hostsOf(deps);
  // A set is never empty (scheduleRequests makes them), and its instances share one group or none.
  const group = groupOfRow(set[0]!.row);
  const options = selection(deps, cache);
  const hosts = await cache.get();
  const specs = await Promise.all(set.map((w) => specFor(deps.db, w.row, null)));
  let outcomes: Map<string, PlacementOutcome> | null;
  try {
    // Decided in the placement's transaction, each decision seeing the places taken by those before it.
    outcomes = await placeDecided(deps, cache, set, group, (members) =>
      set.flatMap((w, i) => {
        const startedAt = new Date();
        const spec = specs[i]!;
        spec.group = group && members ? groupRequest(group, { ...members }) : null;
        const [host, ...next] = selectHosts(hosts, spec, options).ordered;
        if (!host) return [];
        cache.consume(host, spec.resources);
        if (members) members[host.host] = (members[host.host] ?? 0) + 1;
        return [{ w, host, resources: spec.resources, alternates: next.slice(0, deps.config.maxAttempts - 1).map((h) => h.host), startedAt }];
      }),
    );
  } catch (error) {
    if (!(error instanceof AsterError)) throw error;
    // A port or image refusal undid them all: one by one, it ends only the build it concerns.
    outcomes = new Map();
  }
  // Undone because an instance changed meanwhile (null), refused by its host, or without one on this view: in
  // the order they came, each seeing the places of those before it.
  for (const w of set) {
    const outcome = outcomes?.get(w.row.id);
    if (outcome !== 'placed' && outcome !== 'failed') await decideAlone(deps, w);
  }
}

/**
 * One instance decided on its own: the hosts this scheduler knows, filtered, weighed and picked, then a claim
 * down the ordered list, each in a placement of its own (the next host if another build took the room first,
 * or if the group's policy no longer allows it). The build goes to the chosen host with the next best as
 * alternates. Nothing fits: the hosts are read fresh and the decision made once more before the server goes to
 * ERROR with the reasons by filter (host names for administrators only).
 */
async function decideAlone(deps: SchedulerDeps, w: Waiting): Promise<void> {
  const started = new Date();
  const cache = hostsOf(deps);
  const group = groupOfRow(w.row);
  const spec = await specFor(deps.db, w.row, group ? await memberHosts(deps.db, group.id, w.row.id) : null);
  const options = selection(deps, cache);

  // A first pass on the hosts as last read; when it places nothing, one more on a fresh read before anyone is
  // told no (the view may predate a delete that freed room, or another scheduler's claims).
  let fresh = false;
  for (let round = 0; round <= GROUP_ROUNDS; round++) {
    const { ordered } = selectHosts(await cache.get({ fresh }), spec, options);
    let moved: Record<string, number> | null = null;
    let lost = 0;
    for (let i = 0; i < ordered.length; i++) {
      const host = ordered[i]!;
      const outcomes = await placeDecided(deps, cache, [w], group, (members) => {
        // The group's members, as read under its lock, no longer allow this host: another member took a place.
        if (group && members && groupRefusal(groupRequest(group, members), host.host)) {
          moved = members;
          return [];
        }
        cache.consume(host, spec.resources);
        return [{ w, host, resources: spec.resources, alternates: ordered.slice(i + 1, i + deps.config.maxAttempts).map((h) => h.host), startedAt: started }];
      });
      const outcome = outcomes?.get(w.row.id);
      // Placed; ended by a refusal no host fixes; or gone meanwhile (deleted, or placed by another worker).
      if (outcome === 'placed' || outcome === 'failed' || outcomes === null) return;
      if (moved) break;
      // No room where this view saw some: it is out of date. After a few such hosts, read them all again.
      if (++lost >= LOST_CLAIMS_BEFORE_REREAD && !fresh) break;
    }
    if (moved && group) {
      // Other members were placed meanwhile: decide again with where they are now.
      spec.group = groupRequest(group, moved);
      continue;
    }
    if (fresh) break;
    fresh = true;
  }
  await noValidHost(deps, w, spec, started);
}

/** Nothing fits: every filter over every host, so the fault says why for each group of hosts. */
async function noValidHost(deps: SchedulerDeps, w: Waiting, spec: RequestSpec, started: Date): Promise<void> {
  const hosts = await hostsOf(deps).get();
  const { runs } = runFilters(hosts, spec, pipelineOf(deps.config).filters);
  // Hosts that passed every filter here lost their claims to other builds (explain counts them).
  const explanation = explain(runs, hosts.length);
  const message = describeExplanation(redactExplanation(explanation));
  const details = describeExplanation(explanation);
  await recordEvent(deps.db, { actionId: w.row.action_id, event: 'schedule', result: 'Error', details: message, startedAt: started });
  await failBuild(deps.db, w.row.id, message, details, null, explanation);
  deps.log.info('no valid host', { instanceId: w.row.id, reason: details });
}

/** An instance's decision: the host chosen, what the instance takes of it, and the next best as alternates. */
interface Decision {
  w: Waiting;
  host: HostState;
  resources: ResourceRequest;
  alternates: string[];
  startedAt: Date;
}

/**
 * Places a set of instances with the decisions `choose` makes inside the placement's transaction. `choose`
 * counts each decision against the view of the hosts as it makes it (so the next sees it); what an instance
 * took from the view is given back unless it was placed, and a host found without the room the view saw
 * makes the view's next read a fresh one. The hosts decided on count as being claimed on until the
 * transaction ends.
 */
async function placeDecided(
  deps: SchedulerDeps,
  cache: HostStateCache,
  set: Waiting[],
  group: InstanceGroup | null,
  choose: (members: Record<string, number> | null) => Decision[],
): Promise<Map<string, PlacementOutcome> | null> {
  let decided: Decision[] = [];
  let claimed = () => {};
  let outcomes: Map<string, PlacementOutcome> | null;
  try {
    outcomes = await place(deps.db, deps.jobs, {
      instances: set.map((w) => ({ id: w.row.id, networkIds: w.row.requested_networks })),
      group,
      secret: secretOf(deps.config),
      choose: (members) => {
        decided = choose(members);
        claimed = cache.claimingOn(decided.map((d) => d.host.host));
        return decided.map((d) => ({
          instanceId: d.w.row.id,
          providerId: d.host.providerId,
          host: d.host.host,
          resources: d.resources,
          alternates: d.alternates,
          event: { actionId: d.w.row.action_id, startedAt: d.startedAt },
          image: imageOf(d.w.row),
          requestId: d.w.requestId,
        }));
      },
    }).finally(() => claimed());
  } catch (error) {
    for (const d of decided) cache.consume(d.host, d.resources, -1);
    throw error;
  }
  for (const d of decided) {
    const outcome = outcomes?.get(d.w.row.id);
    if (outcome === 'placed') continue;
    cache.consume(d.host, d.resources, -1);
    if (outcome === 'no-room') cache.invalidate();
  }
  return outcomes;
}

/** The configuration's filters and weighers, and its pick among the best, with this process's busy hosts moved last. */
function selection(deps: SchedulerDeps, cache: HostStateCache): SelectOptions {
  const { filters, weighers } = pipelineOf(deps.config);
  return { filters, weighers, hostSubsetSize: deps.config.hostSubsetSize, reorder: (ordered, spec) => placeAmong(cache, spec, ordered) };
}

/**
 * The hosts a decision claims down, best first, but those this process is claiming on right now moved last, so
 * that its decisions at once do not queue for one host's lock. Not for a group that packs its members together:
 * there the host matters more than the wait.
 */
function placeAmong(cache: HostStateCache, spec: RequestSpec, ordered: HostState[]): HostState[] {
  const policy = spec.group?.policy;
  return policy === 'affinity' || policy === 'soft-affinity' ? ordered : cache.idleFirst(ordered);
}
