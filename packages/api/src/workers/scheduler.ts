import {
  defaultFilterNames,
  describeExplanation,
  explain,
  filtersByName,
  pickHost,
  redactExplanation,
  runFilters,
  weighersFromMultipliers,
  weighHosts,
  type HostFilter,
  type HostState,
  type RequestSpec,
  type ResourceRequest,
  type WeighedBy,
  type WeightMultipliers,
} from '@aster/compute';
import { handler, SCHEDULER_QUEUE, scheduleInstance, scheduleInstances, type Jobs } from '@aster/jobs';
import { matchIds, type Pool } from '@aster/db';
import type { Logger } from '@aster/log';
import { defaultApiConfig } from '../context.ts';
import { recordEvent, type InstanceRow } from '../compute/instances.ts';
import { groupRequest, memberHosts, type InstanceGroup } from '../compute/group-placement.ts';
import { AsterError } from '../errors.ts';
import { failBuild, placeAndBuild, placeTogether, type ImageDetails, type Placement, type PlacementOutcome } from './dispatch.ts';
import { HostStateCache } from './host-cache.ts';

export interface SchedulerConfig {
  /** Hosts tried per build: the chosen one and up to maxAttempts - 1 alternates (Nova's max_attempts). */
  maxAttempts: number;
  serviceDownSeconds: number;
  /** The zone of hosts in no zone (Nova's default_availability_zone). */
  defaultAvailabilityZone: string;
  /** Filters to run, in order (Nova's enabled_filters, without the "Filter" suffix). */
  filters: string[];
  /** NumInstances: the most instances one host may hold (Nova's max_instances_per_host). */
  maxInstancesPerHost: number;
  /** Weigher multipliers (Nova's *_weight_multiplier); 0 turns a weigher off, a negative one reverses it. */
  weights: WeightMultipliers;
  /** Pick at random among this many best hosts (Nova's host_subset_size), so schedulers racing spread out. */
  hostSubsetSize: number;
  /** How long a read of the hosts serves decisions before it is read again, ms (changes announced sooner end it). */
  hostStateTtlMs: number;
  /**
   * Decisions one scheduler process makes at once. Its queue is still fetched many jobs at a time; the rest wait
   * their turn. A few at once keep the database busy; many at once only share the process, so that each
   * decision takes as long as all of them.
   */
  concurrentDecisions: number;
  /** Signs the image URLs in the builds sent to hosts; the API's own (defaultApiConfig's) when not given. */
  serviceSecret?: string;
}


export const defaultSchedulerConfig: SchedulerConfig = {
  maxAttempts: 3,
  serviceDownSeconds: 60,
  defaultAvailabilityZone: 'nova',
  filters: [...defaultFilterNames],
  maxInstancesPerHost: 50,
  weights: { ram: 1, cpu: 0, disk: 0, numInstances: 0, softAffinity: 1, softAntiAffinity: 1, buildFailure: 1_000_000 },
  hostSubsetSize: 1,
  hostStateTtlMs: 1000,
  concurrentDecisions: 2,
};

export interface SchedulerDeps {
  db: Pool;
  jobs: Jobs;
  log: Logger;
  config: SchedulerConfig;
  hosts?: HostStateCache;
  /** The process's turns at deciding (made by startScheduler); without it, decisions do not wait for one. */
  turns?: Turns;
}

/** At most `limit` at once; the others wait in the order they came. */
export class Turns {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // handed the turn of one that ended
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

type Row = InstanceRow & {
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

/** A decision keeps going down its list of hosts; a group whose members moved meanwhile is read again this often. */
const GROUP_ROUNDS = 3;
/** Claims lost in a row on a cached view before the decision is made again on a fresh one. */
const LOST_CLAIMS_BEFORE_REREAD = 5;

/**
 * Picks a host for one instance: the hosts this scheduler knows (one query, kept briefly), the filters and
 * weighers in the configured order, then a claim down the ordered list (the next host if another build took
 * the room first, or if the group's policy no longer allows it). The build goes to the chosen host with the
 * next best as alternates. Nothing fits: the hosts are read fresh and the decision made once more before the
 * server goes to ERROR with the reasons by filter (host names for administrators only).
 */
export async function scheduleOne(deps: SchedulerDeps, instanceId: string, requestId: string): Promise<void> {
  // The decision starts when it has its turn: until then it waits as jobs wait in the queue.
  if (deps.turns) return deps.turns.run(() => decide(deps, instanceId, requestId));
  return decide(deps, instanceId, requestId);
}

/** What a decision needs of its instances: each with its image's details, its create action and its group. */
async function readInstances(db: Pool, ids: string[]): Promise<Map<string, Row>> {
  const byId = matchIds('i.id', ids, 1);
  const { rows } = await db.query<Row>(
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

/**
 * `read`: the instance as read with the others of its request, before their decisions. What changed since (a
 * delete, say) the placement's own update sees: it then finds the instance gone.
 */
async function decide(deps: SchedulerDeps, instanceId: string, requestId: string, read?: Row | null): Promise<void> {
  const { db, config } = deps;
  const started = new Date();
  const cache = (deps.hosts ??= cacheFor(deps));
  const row = read === undefined ? (await readInstances(db, [instanceId])).get(instanceId.toLowerCase()) : read;
  if (!row || !waiting(row)) return; // done already, or deleted
  const group = groupOfRow(row);
  const spec = await specFor(db, row, group ? await memberHosts(db, group.id, instanceId) : null);
  const { filters, weighers } = pipelineOf(config);

  // A first pass on the hosts as last read; when it places nothing, one more on a fresh read before anyone is
  // told no (the view may predate a delete that freed room, or another scheduler's claims).
  let fresh = false;
  for (let round = 0; round <= GROUP_ROUNDS; round++) {
    const hosts = await cache.get({ fresh });
    const ordered = placeAmong(cache, spec, pickHost(weighHosts(runFilters(hosts, spec, filters).passed, spec, weighers), config.hostSubsetSize));
    let groupMoved = false;
    let lost = 0;
    for (let i = 0; i < ordered.length; i++) {
      const host = ordered[i]!;
      cache.consume(host, spec.resources);
      const claimed = cache.claimingOn([host.host]);
      const outcome = await placeAndBuild(db, deps.jobs, {
        instanceId,
        providerId: host.providerId,
        host: host.host,
        resources: spec.resources,
        group,
        alternates: ordered.slice(i + 1, i + config.maxAttempts).map((h) => h.host),
        requestId,
        secret: secretOf(config),
        event: { actionId: row.action_id, startedAt: started },
        image: imageOf(row),
      }).finally(claimed);
      if (outcome === 'placed' || outcome === 'gone') return;
      cache.consume(host, spec.resources, -1);
      if (outcome === 'group') {
        groupMoved = true;
        break;
      }
      // No room where this view saw some: it is out of date. After a few such hosts, read them all again.
      cache.invalidate();
      if (++lost >= LOST_CLAIMS_BEFORE_REREAD && !fresh) break;
    }
    if (groupMoved && group) {
      // Other members were placed meanwhile: decide again with where they are now.
      spec.group = groupRequest(group, await memberHosts(db, group.id, instanceId));
      continue;
    }
    if (fresh) break;
    fresh = true;
  }

  // Nothing fits: every filter over every host, so the fault says why for each group of hosts.
  const hosts = await cache.get();
  const everyFilter = runFilters(hosts, spec, filters);
  // Hosts that passed every filter here lost their claims to other builds (explain counts them).
  const explanation = explain(everyFilter.runs, hosts.length);
  const message = describeExplanation(redactExplanation(explanation));
  const details = describeExplanation(explanation);
  await recordEvent(db, { actionId: row.action_id, event: 'schedule', result: 'Error', details: message, startedAt: started });
  await failBuild(db, instanceId, message, details, null, explanation);
  deps.log.info('no valid host', { instanceId, reason: details });
}

/** Whether the instance still waits for a host (not placed by an earlier try, nor deleted). */
const waiting = (row: Row) => !row.deleted_at && row.vm_state === 'building' && row.task_state === 'scheduling';

function groupOfRow(row: Row): InstanceGroup | null {
  return row.group_id && row.group_policy
    ? { id: row.group_id, name: row.group_name ?? '', policy: row.group_policy, maxServerPerHost: row.max_server_per_host }
    : null;
}

/** What the filters and weighers ask of the hosts for this instance; `members`: where its group's other members are. */
async function specFor(db: Pool, row: Row, members: Record<string, number> | null): Promise<RequestSpec> {
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

const imageOf = (row: Row): ImageDetails | null =>
  row.image_disk_format
    ? { disk_format: row.image_disk_format, checksum_sha256: row.image_checksum_sha256, size_bytes: row.image_size_bytes, properties: row.image_properties ?? {} }
    : null;

/** Instances placed in one transaction at most: more would delay the first one's decision, and hold hosts' rows longer. */
export const PLACED_TOGETHER = 16;

/** An instance waiting for a host, and the request that asked for it. */
interface Waiting {
  row: Row;
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
  for (const set of sets) {
    if (deps.turns) await deps.turns.run(() => decideTogether(deps, set));
    else await decideTogether(deps, set);
  }
}

/**
 * Instances of one group (or none) decided one after the other on the hosts as this scheduler knows them, each
 * decision seeing the places taken by those before it (its group's members among them), then placed in one
 * transaction; one instance alone, too, so that its decision ends with its claim. An instance left without a
 * place there (its host filled meanwhile, no host at all on this view, or a refusal of its ports or image) is
 * decided again on its own, down its list of hosts, and told why when none fits.
 */
async function decideTogether(deps: SchedulerDeps, set: Waiting[]): Promise<void> {
  const { db, config } = deps;
  const cache = (deps.hosts ??= cacheFor(deps));
  // A set is never empty (scheduleRequests makes them), and its instances share one group or none.
  const group = groupOfRow(set[0]!.row);
  const later: Waiting[] = [];
  const { filters, weighers } = pipelineOf(config);
  const hosts = await cache.get();
  const specs = await Promise.all(set.map((w) => specFor(db, w.row, null)));
  const chosen: { row: Row; host: HostState; resources: ResourceRequest }[] = [];
  // Decided in the placement's transaction, each decision seeing the places taken by those before it.
  const choose = (members: Record<string, number> | null): Placement[] => {
    const placements: Placement[] = [];
    set.forEach(({ row, requestId }, i) => {
      const startedAt = new Date();
      const spec = specs[i]!;
      spec.group = group && members ? groupRequest(group, { ...members }) : null;
      const ordered = placeAmong(cache, spec, pickHost(weighHosts(runFilters(hosts, spec, filters).passed, spec, weighers), config.hostSubsetSize));
      const host = ordered[0];
      if (!host) return;
      cache.consume(host, spec.resources);
      if (members) members[host.host] = (members[host.host] ?? 0) + 1;
      chosen.push({ row, host, resources: spec.resources });
      placements.push({
        instanceId: row.id,
        providerId: host.providerId,
        host: host.host,
        resources: spec.resources,
        alternates: ordered.slice(1, config.maxAttempts).map((h) => h.host),
        event: { actionId: row.action_id, startedAt },
        image: imageOf(row),
        requestId,
      });
    });
    // Claimed on from here to the transaction's end.
    claimed = cache.claimingOn(placements.map((p) => p.host));
    return placements;
  };
  let claimed = () => {};
  let outcomes: Map<string, PlacementOutcome> | null = null;
  try {
    outcomes = await placeTogether(db, deps.jobs, {
      instances: set.map((w) => ({ id: w.row.id, networkIds: w.row.requested_networks })),
      group,
      choose,
      secret: secretOf(config),
    }).finally(() => claimed());
  } catch (error) {
    for (const c of chosen.splice(0)) cache.consume(c.host, c.resources, -1);
    if (!(error instanceof AsterError)) throw error;
    // A port or image refusal undid them all: one by one, it ends only the build it concerns.
    outcomes = new Map();
  }
  for (const w of set) {
    // Undone because an instance changed meanwhile (null), refused by its host, or without one on this view:
    // what it took from the view is given back, and it is decided on its own.
    if (outcomes?.get(w.row.id) === 'placed') continue;
    const c = chosen.find((x) => x.row === w.row);
    if (c) cache.consume(c.host, c.resources, -1);
    // No room where this view saw some: it is out of date.
    if (outcomes?.get(w.row.id) === 'no-room') cache.invalidate();
    later.push(w);
  }
  // In the order they came, each seeing the places of those before it.
  for (const w of later) await decide(deps, w.row.id, w.requestId, w.row);
}

const secretOf = (config: SchedulerConfig) => config.serviceSecret ?? defaultApiConfig.serviceSecret;

/**
 * The hosts a decision claims down, best first, but those this process is claiming on right now moved last, so
 * that its decisions at once do not queue for one host's lock. Not for a group that packs its members together:
 * there the host matters more than the wait.
 */
function placeAmong(cache: HostStateCache, spec: RequestSpec, ordered: HostState[]): HostState[] {
  const policy = spec.group?.policy;
  return policy === 'affinity' || policy === 'soft-affinity' ? ordered : cache.idleFirst(ordered);
}

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

/** The filters and weighers a configuration names, built once per configuration rather than per decision. */
const pipelines = new WeakMap<SchedulerConfig, { filters: HostFilter[]; weighers: WeighedBy[] }>();
function pipelineOf(config: SchedulerConfig): { filters: HostFilter[]; weighers: WeighedBy[] } {
  let built = pipelines.get(config);
  if (!built) {
    built = { filters: filtersByName(config.filters, { maxInstancesPerHost: config.maxInstancesPerHost }), weighers: weighersFromMultipliers(config.weights) };
    pipelines.set(config, built);
  }
  return built;
}

/** Throws, naming the problem, when the configured filters or weighers cannot be built. */
export function checkSchedulerConfig(config: SchedulerConfig): void {
  pipelineOf(config);
}

function cacheFor(deps: SchedulerDeps): HostStateCache {
  return new HostStateCache({
    db: deps.db,
    ttlMs: deps.config.hostStateTtlMs,
    downAfterSeconds: deps.config.serviceDownSeconds,
    defaultZone: deps.config.defaultAvailabilityZone,
    countInstances: deps.config.filters.includes('NumInstances') || deps.config.weights.numInstances !== 0,
  });
}

/** Works the scheduler queue; with a connection string, host changes the database announces end the cached view at once. */
export async function startScheduler(
  deps: SchedulerDeps & { connectionString?: string },
  options: { concurrency?: number } = {},
): Promise<{ stop(): Promise<void> }> {
  const hosts = (deps.hosts ??= cacheFor(deps));
  deps.turns ??= new Turns(deps.config.concurrentDecisions);
  if (deps.connectionString) await hosts.listen(deps.connectionString, deps.log);
  await deps.jobs.ensureQueue(SCHEDULER_QUEUE, { retryLimit: 5, expireInSeconds: 300 });
  deps.jobs.work(
    SCHEDULER_QUEUE,
    [
      // One instance per job, as sent before requests were scheduled whole.
      handler(scheduleInstance, (p, ctx) => scheduleOne(deps, p.instanceId, ctx.requestId)),
      // Requests taken together are placed together (a few instances per transaction).
      handler(
        scheduleInstances,
        (p, ctx) => scheduleRequests(deps, [{ instanceIds: p.instanceIds, requestId: ctx.requestId }]),
        (jobs) => scheduleRequests(deps, jobs.map((j) => ({ instanceIds: j.payload.instanceIds, requestId: j.ctx.requestId }))),
      ),
    ],
    { concurrency: options.concurrency ?? 16 },
  );
  return { stop: () => hosts.stop() };
}
