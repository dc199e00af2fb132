import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { appRouter } from '@aster/api';
import { createAsterClient, login, type AsterClient } from '@aster/client';
import { createPool, type Pool } from '@aster/db';
import { computeQueue, Jobs } from '@aster/jobs';
import { createLogger } from '@aster/log';
import { prepareDatabase } from '../database.ts';
import { inheritedEnv, readLauncherEnv } from '../env.ts';
import { root } from '../paths.ts';
import { freePort } from '../ports.ts';
import type { LocalPostgres } from '../postgres.ts';
import { startService, waitReady, type RunningService, type ServiceSpec } from '../services.ts';
import { fleetSpec, hostName } from './fleet.ts';
import { tryKill } from './measure.ts';
import { addProviders, allocationCandidatesFunction, timeCandidates } from './scheduler-candidates.ts';
import { createGroups, prepareTenants, runLoad } from './scheduler-load.ts';
import { benchFlavors, plan } from './scheduler-plan.ts';
import { commits, cpu, cpuDelta, logWarnings, POSTGRES_SETTINGS, startPostgres, topStatements, totalStatements } from './scheduler-stats.ts';
import { lastSettledAt, timings, verify } from './scheduler-verify.ts';

const say = (line: string) => process.stderr.write(line + '\n');
const round = (n: number, places = 2) => Math.round(n * 10 ** places) / 10 ** places;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PROJECTS = 10;
const HEARTBEAT_SECONDS = 20;
/** Hosts count as down after this long without a heartbeat: a few missed beats under load are not death. */
const SERVICE_DOWN_SECONDS = 90;
/** With 250 queues per process, every fallback poll is 250 queries; wake-ups carry the work. */
const DEFAULT_POLL_SECONDS = 30;

function options(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      servers: { type: 'string', default: '10000' },
      hosts: { type: 'string', default: '1000' },
      schedulers: { type: 'string', default: '1' },
      clients: { type: 'string', default: '20' },
      'fleet-processes': { type: 'string', default: '4' },
      'poll-seconds': { type: 'string', default: String(DEFAULT_POLL_SECONDS) },
      'multi-create-share': { type: 'string', default: '0.5' },
      'multi-create-count': { type: 'string', default: '10' },
      plain: { type: 'boolean', default: false },
      'keep-logs': { type: 'boolean', default: false },
      'cpu-profile': { type: 'string' },
      split: { type: 'boolean', default: false },
    },
  });
  const whole = (name: keyof typeof values, min: number, max: number) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be a whole number from ${min} to ${max}, not ${String(values[name])}`);
    return n;
  };
  const share = Number(values['multi-create-share']);
  if (!(share >= 0 && share <= 1)) throw new Error(`--multi-create-share must be a number from 0 to 1, not ${values['multi-create-share']}`);
  return {
    servers: whole('servers', 1, 100_000),
    hosts: whole('hosts', 1, 10_000),
    schedulers: whole('schedulers', 1, 4),
    clients: whole('clients', PROJECTS, 200),
    fleetProcesses: whole('fleet-processes', 1, 32),
    pollSeconds: whole('poll-seconds', 1, 3600),
    multiShare: share,
    multiCount: whole('multi-create-count', 2, 100),
    /** Without server groups and zones even when the API has them. */
    plain: values.plain,
    keepLogs: values['keep-logs'],
    /** A folder for V8 CPU profiles of the API and scheduler processes (written when they stop). */
    cpuProfile: values['cpu-profile'] ?? null,
    /** The scheduler and conductor in a process of their own rather than in the API's (as operators split them). */
    split: values.split,
  };
}

type Options = ReturnType<typeof options>;

/** What a run has started, where a signal and the end of the run find it to stop it. */
interface Run {
  work: string;
  services: RunningService[];
  pg: LocalPostgres | null;
  db: Pool | null;
}

/** The control plane and fleet, started and registered. */
interface Plane {
  pg: LocalPostgres;
  db: Pool;
  url: string;
  admin: AsterClient;
  inherited: Record<string, string>;
  /** Whether the API has server groups and availability zones (and the run uses them). */
  groups: boolean;
  zones: boolean;
  fleetProcesses: number;
  fleetStarted: number;
  hostQueuesSeconds: number;
  fleetRegisterSeconds: number;
}

/**
 * `npm run bench:scheduler [-- --servers N --schedulers 2]`: a throwaway Postgres, the API with all its roles
 * (and more scheduler-only processes with --schedulers), a fleet of FakeDriver hosts in a few processes, and
 * thousands of servers created by concurrent clients; then timings, the allocation-candidates query at two
 * sizes, and a check in SQL that no decision broke a rule. The last line of output is one JSON object.
 */
export async function benchScheduler(args: string[]): Promise<number> {
  const o = options(args);
  const run: Run = { work: mkdtempSync('/tmp/aster-bench-'), services: [], pg: null, db: null };
  chmodSync(run.work, 0o755);
  mkdirSync(join(run.work, 'logs'));
  let keepLogs = o.keepLogs;
  // Ctrl-C: nothing of the run may stay behind (processes, Postgres, its folder).
  const onSignal = () => {
    for (const s of run.services) if (s.child.pid && s.child.exitCode === null) tryKill(-s.child.pid, 'SIGKILL');
    if (run.pg?.pid) tryKill(run.pg.pid, 'SIGQUIT');
    rmSync(run.work, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const plane = await setUp(o, run);
    const idle = await measureAtRest(o, plane, run);
    const load = await createServers(o, plane, run);
    say('verifying …');
    const checks = await verify(plane.db, { groups: plane.groups });
    const times = await timings(plane.db);
    const candidates = await timeAllocationCandidates(o, plane);
    const result = figures(o, plane, { idle, load, checks, times, candidates, warnings: logWarnings(join(run.work, 'logs')) });
    keepLogs ||= checks.violations > 0;
    process.stdout.write(JSON.stringify(result) + '\n');
    return checks.violations === 0 ? 0 : 1;
  } catch (error) {
    keepLogs = true;
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await run.db?.end().catch(() => {});
    // Fleets first (their hosts say goodbye to the conductor), then the API processes.
    for (const s of [...run.services].reverse()) await s.stop();
    await run.pg?.stop();
    // The services' logs say what went wrong; the database goes either way.
    if (keepLogs) {
      const kept = `${run.work}-logs`;
      renameSync(join(run.work, 'logs'), kept);
      say(`logs kept in ${kept}`);
    }
    rmSync(run.work, { recursive: true, force: true });
  }
}

/** Setup: Postgres, the API's processes, every host's queue, then the fleet, until every host has registered. */
async function setUp(o: Options, run: Run): Promise<Plane> {
  const procedures = Object.keys(appRouter._def.procedures);
  const groups = !o.plain && procedures.includes('serverGroups.create');
  const zones = !o.plain && procedures.includes('aggregates.create');
  const settings = readLauncherEnv();
  const pg = (run.pg = await startPostgres(run.work, settings.ASTER_PG_BIN));
  const password = 'bench-admin-password';
  const { computeUrl } = await prepareDatabase(pg.url, password, { roles: { dir: run.work } });
  const inherited = inheritedEnv();
  const url = await startApi(o, run, pg, inherited);
  const admin = createAsterClient({ url, token: (await login({ url, username: 'admin', password })).token });
  const db = (run.db = createPool({ connectionString: pg.url, max: 4 }));
  const hostQueuesSeconds = await makeHostQueues(o, pg);
  const fleet = await startFleet(o, run, db, computeUrl, inherited);
  return { pg, db, url, admin, inherited, groups, zones, ...fleet, hostQueuesSeconds };
}

/** The API process (all roles, or the API apart with --split) and any more schedulers; answers the API's URL. */
async function startApi(o: Options, run: Run, pg: LocalPostgres, inherited: Record<string, string>): Promise<string> {
  const apiPort = await freePort();
  const common = {
    ...inherited,
    DATABASE_URL: pg.url,
    ASTER_LOG_LEVEL: 'info',
    NODE_ENV: 'production',
    ASTER_SERVICE_DOWN_SECONDS: String(SERVICE_DOWN_SECONDS),
    // Image URLs signed by one scheduler must verify in another.
    ASTER_SERVICE_SECRET: randomBytes(32).toString('base64url'),
  };
  const profiling = o.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfile}`] : [];
  const tsx = (main: string) => ({ command: process.execPath, args: [...profiling, '--import', 'tsx', join(root, main)] });
  const logs = join(run.work, 'logs');
  const specs: ServiceSpec[] = [
    { name: 'api', cwd: join(root, 'apps/api'), ...tsx('apps/api/src/main.ts'), env: { ...common, ASTER_API_PORT: String(apiPort), ASTER_IMAGE_DIR: join(run.work, 'images'), ASTER_SERVICE_HOST: 'bench-api', ...(o.split ? { ASTER_ROLES: 'api' } : {}) }, logFile: join(logs, 'api.log'), ready: { log: true } },
  ];
  if (o.split) {
    specs.push({ name: 'workers', cwd: join(root, 'apps/api'), ...tsx('apps/api/src/main.ts'), env: { ...common, ASTER_ROLES: 'scheduler,conductor', ASTER_SERVICE_HOST: 'bench-workers' }, logFile: join(logs, 'workers.log'), ready: { log: true } });
  }
  for (let s = 2; s <= o.schedulers; s++) {
    specs.push({ name: `scheduler-${s}`, cwd: join(root, 'apps/api'), ...tsx('apps/api/src/main.ts'), env: { ...common, ASTER_ROLES: 'scheduler', ASTER_SERVICE_HOST: `bench-scheduler-${s}` }, logFile: join(logs, `scheduler-${s}.log`), ready: { log: true } });
  }
  for (const spec of specs) {
    const s = startService(spec, say);
    run.services.push(s);
    await waitReady(s, spec, 60_000);
  }
  return `http://127.0.0.1:${apiPort}`;
}

/**
 * The hosts' queues one at a time, before the hosts start: the conductor creates a host's queue when the host
 * registers, and pg-boss's create_queue deadlocks with itself when hundreds run at once. Answers the seconds.
 */
async function makeHostQueues(o: Options, pg: LocalPostgres): Promise<number> {
  say(`${o.hosts} host queues …`);
  const started = performance.now();
  const queues = await Jobs.start({ connectionString: pg.url, log: createLogger('bench', { level: 'error' }), max: 2 });
  try {
    for (let i = 0; i < o.hosts; i++) await queues.ensureQueue(computeQueue(hostName(i)), { retryLimit: 2, expireInSeconds: 15 * 60 });
  } finally {
    await queues.stop(500);
  }
  return round((performance.now() - started) / 1000, 1);
}

/** The fake hosts in their processes, until every one has registered and beaten once. */
async function startFleet(o: Options, run: Run, db: Pool, computeUrl: string, inherited: Record<string, string>) {
  say(`${o.hosts} fake hosts in ${o.fleetProcesses} processes …`);
  const fleetStarted = performance.now();
  const per = Math.ceil(o.hosts / o.fleetProcesses);
  const specs: ServiceSpec[] = [];
  for (let p = 0, first = 0; first < o.hosts; p++, first += per) {
    const settings = { databaseUrl: computeUrl, first, count: Math.min(per, o.hosts - first), heartbeatSeconds: HEARTBEAT_SECONDS, powerSyncSeconds: 600, pollSeconds: o.pollSeconds, poolMax: 6 };
    specs.push(fleetSpec(`fleet-${p}`, join(run.work, `logs/fleet-${p}.log`), settings, { ...inherited, NODE_ENV: 'production' }));
  }
  const fleet = specs.map((spec) => startService(spec, say));
  run.services.push(...fleet);
  await Promise.all(fleet.map((s, i) => waitReady(s, specs[i]!, 300_000)));
  await waitUntil(async () => {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM compute_nodes cn JOIN services s ON s.host = cn.host AND s.binary_name = 'aster-compute' WHERE s.last_seen_at IS NOT NULL`,
    );
    return rows[0]!.n >= o.hosts;
  }, 300_000);
  const fleetRegisterSeconds = round((performance.now() - fleetStarted) / 1000, 1);
  say(`fleet registered in ${fleetRegisterSeconds} s`);
  return { fleetProcesses: fleet.length, fleetStarted, fleetRegisterSeconds };
}

/**
 * At rest: what the fleet's heartbeats and fallback polls cost with nothing to do, over one heartbeat period
 * once every host's first beat is due (each host beats once in it).
 */
async function measureAtRest(o: Options, plane: Plane, run: Run) {
  await sleep(Math.max(0, plane.fleetStarted + HEARTBEAT_SECONDS * 1000 - performance.now()));
  const seconds = HEARTBEAT_SECONDS;
  await plane.db.query('SELECT pg_stat_statements_reset()');
  const before = cpu(run.services, plane.pg);
  const xactBefore = await commits(plane.db);
  await sleep(seconds * 1000);
  const idle = {
    seconds,
    pollSeconds: o.pollSeconds,
    cpuSeconds: cpuDelta(before, cpu(run.services, plane.pg)),
    postgresTransactionsPerSecond: round(((await commits(plane.db)) - xactBefore) / seconds, 1),
    postgresTopStatements: await topStatements(plane.db, 6),
  };
  say(`at rest: ${JSON.stringify({ ...idle, postgresTopStatements: undefined })}`);
  return idle;
}

/**
 * Workload: the tenants, their groups, then every server of the plan from the clients at once, until each is
 * ACTIVE or ERROR; with the CPU and Postgres's statements it took.
 */
async function createServers(o: Options, plane: Plane, run: Run) {
  const { db } = plane;
  const setup = await prepareTenants(plane.admin, db, { url: plane.url, hosts: o.hosts, projects: PROJECTS, groups: plane.groups, zones: plane.zones });
  const load = plan({ servers: o.servers, clients: o.clients, projects: PROJECTS, groups: plane.groups, zones: plane.zones, multiShare: o.multiShare, multiCount: o.multiCount });
  // A client per sender: one shared client would batch concurrent creates into one request.
  const senders = Array.from({ length: o.clients }, (_, c) => createAsterClient({ url: plane.url, token: setup.tokens[c % PROJECTS]! }));
  const groupIds = await createGroups(senders, load);

  say(`${o.servers} servers from ${o.clients} clients (${load.creates} creates, ${load.multiCreates} of ${o.multiCount}) onto ${o.hosts} hosts, ${o.schedulers} scheduler process(es) …`);
  await db.query('SELECT pg_stat_statements_reset()');
  const cpuBefore = cpu(run.services, plane.pg);
  const transactionsBefore = await commits(db);
  const started = Date.now();
  const sent = await runLoad(load, { clients: senders, flavorIds: setup.flavorIds, imageId: setup.imageId, groupIds, db, started });
  const seconds = ((await lastSettledAt(db)) - started) / 1000;
  const cpuSeconds = cpuDelta(cpuBefore, cpu(run.services, plane.pg));
  const statements = await topStatements(db);
  const mostPlanned = await topStatements(db, 8, 'plans');
  const statementTotals = { ...(await totalStatements(db, sent.accepted)), transactionsPerServer: round(((await commits(db)) - transactionsBefore) / Math.max(1, sent.accepted)) };
  say(`done: ${sent.accepted} servers in ${round(seconds)} s; cpu seconds ${JSON.stringify(cpuSeconds)}`);
  return { load, sent, seconds, cpuSeconds, statements, mostPlanned, statementTotals };
}

/** placement's allocation candidates, timed at the fleet's size and at 10,000 providers. */
async function timeAllocationCandidates(o: Options, plane: Plane): Promise<Record<string, unknown>> {
  say('allocation candidates …');
  const candidatesFn = allocationCandidatesFunction();
  if (!candidatesFn) return { missing: 'allocationCandidates is not exported by @aster/api; nothing was timed' };
  // At the scheduler's limit (Nova's max_placement_results), and unlimited: a query without an order stops at the
  // limit, so the unlimited one shows the cost of reading every provider.
  const both = async () => ({
    limit1000: await timeCandidates(plane.db, candidatesFn, { zones: plane.zones, limit: 1000 }),
    unlimited: await timeCandidates(plane.db, candidatesFn, { zones: plane.zones, limit: 1_000_000 }),
  });
  const atFleet = await both();
  const extra = Math.max(0, 10_000 - o.hosts);
  await addProviders(plane.db, extra, { zones: plane.zones });
  return { [`providers${o.hosts}`]: atFleet, [`providers${o.hosts + extra}`]: await both() };
}

/** Figures: the one JSON object the benchmark prints. */
function figures(
  o: Options,
  plane: Plane,
  r: {
    idle: Awaited<ReturnType<typeof measureAtRest>>;
    load: Awaited<ReturnType<typeof createServers>>;
    checks: Awaited<ReturnType<typeof verify>>;
    times: Awaited<ReturnType<typeof timings>>;
    candidates: Record<string, unknown>;
    warnings: Record<string, number>;
  },
) {
  const { load, sent, seconds } = r.load;
  const serversPerSecond = round(sent.accepted / seconds, 1);
  const schedulerEnv = Object.fromEntries(Object.entries(plane.inherited).filter(([k]) => k.startsWith('ASTER_SCHEDULER_')));
  const decisionP99 = r.times.decisionMs?.p99 ?? null;
  const candidatesP50 = (r.candidates[`providers${o.hosts}`] as { limit1000?: { ms: { p50: number } } } | undefined)?.limit1000?.ms.p50 ?? null;
  return {
    benchmark: 'scheduler',
    setup: {
      hosts: o.hosts,
      fleetProcesses: plane.fleetProcesses,
      hostSizesGb: [16, 32, 64, 128],
      servers: o.servers,
      clients: o.clients,
      projects: PROJECTS,
      schedulerProcesses: o.schedulers,
      layout: o.split ? 'api | scheduler+conductor' : 'api+scheduler+conductor',
      creates: load.creates,
      multiCreate: { creates: load.multiCreates, count: o.multiCount, servers: load.multiCreates * o.multiCount },
      serverGroups: plane.groups ? { antiAffinity: load.groups.length, size: load.groups[0]?.size ?? 0, withMaxServerPerHost2: load.groups.filter((g) => g.maxServerPerHost === 2).length } : 'not in the API',
      zones: plane.zones ? { az1: 'hosts 0-3 mod 8', az2: 'hosts 4-7 mod 8', asked: '15% az1, 15% az2, 70% any' } : 'not in the API',
      flavors: benchFlavors.map((f) => `${f.vcpus}c/${f.ramMb}MB/${f.diskGb}GB x${f.share}%`),
      heartbeatSeconds: HEARTBEAT_SECONDS,
      serviceDownSeconds: SERVICE_DOWN_SECONDS,
      schedulerEnv,
      hostQueuesSeconds: plane.hostQueuesSeconds,
      fleetRegisterSeconds: plane.fleetRegisterSeconds,
      postgresSettings: POSTGRES_SETTINGS,
    },
    run: {
      seconds: round(seconds),
      serversPerSecond,
      acceptedSeconds: round(sent.acceptedSeconds),
      accepted: sent.accepted,
      createErrors: sent.errors,
      cpuSeconds: r.load.cpuSeconds,
      postgresStatements: r.load.statementTotals,
      postgresTopStatements: r.load.statements,
      postgresMostPlanned: r.load.mostPlanned,
    },
    ...r.times,
    allocationCandidates: r.candidates,
    verification: r.checks,
    warnings: r.warnings,
    idle: r.idle,
    goals: {
      serversPerSecond: { goal: 200, got: serversPerSecond, met: serversPerSecond >= 200 },
      decisionP99Ms: { goal: 50, got: decisionP99, met: decisionP99 !== null && decisionP99 <= 50 },
      candidatesP50MsAt1000: { goal: 10, got: candidatesP50, met: candidatesP50 !== null && candidatesP50 <= 10 },
      violations: { goal: 0, got: r.checks.violations, met: r.checks.violations === 0 },
    },
    peer: {
      name: 'Nova Zed (fake driver, placement), measured on this machine',
      serversPerSecond: 0.94,
      serversPerSecondMultiCreate: 2.42,
      placedServers: 200,
      hosts: 10,
      allocationCandidatesP50MsAt1010Providers: 222,
    },
  };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}
