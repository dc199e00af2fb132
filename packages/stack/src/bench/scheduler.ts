import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { appRouter } from '@aster/api';
import { createAsterClient, login } from '@aster/client';
import { createPool, type Pool } from '@aster/db';
import { computeQueue, Jobs } from '@aster/jobs';
import { createLogger } from '@aster/log';
import { prepareDatabase } from '../database.ts';
import { inheritedEnv, readLauncherEnv } from '../env.ts';
import { root } from '../paths.ts';
import { freePort } from '../ports.ts';
import { startLocalPostgres, type LocalPostgres } from '../postgres.ts';
import { startService, waitReady, type RunningService, type ServiceSpec } from '../services.ts';
import { fleetSpec, hostName } from './fleet.ts';
import { postgresCpuSeconds } from './postgres-cpu.ts';
import { treeCpuSeconds, tryKill } from './measure.ts';
import { addProviders, allocationCandidatesFunction, timeCandidates } from './scheduler-candidates.ts';
import { createGroups, prepareTenants, runLoad } from './scheduler-load.ts';
import { benchFlavors, plan } from './scheduler-plan.ts';
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
/**
 * Postgres settings the benchmark needs. Connections: every pool at its maximum with two schedulers comes to
 * about 150 (the default is 100). Locks: pg-boss keeps a partition per queue, so a statement over all jobs
 * (its maintenance) takes a lock on each of a thousand partitions and their indexes; at the default of 64
 * per connection the shared lock table fills and other statements fail with "out of shared memory".
 */
const POSTGRES_SETTINGS = { max_connections: 300, max_locks_per_transaction: 256 };

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

/**
 * `npm run bench:scheduler [-- --servers N --schedulers 2]`: a throwaway Postgres, the API with all its roles
 * (and more scheduler-only processes with --schedulers), a fleet of FakeDriver hosts in a few processes, and
 * thousands of servers created by concurrent clients; then timings, the allocation-candidates query at two
 * sizes, and a check in SQL that no decision broke a rule. The last line of output is one JSON object.
 */
export async function benchScheduler(args: string[]): Promise<number> {
  const o = options(args);
  const procedures = Object.keys(appRouter._def.procedures);
  const groups = !o.plain && procedures.includes('serverGroups.create');
  const zones = !o.plain && procedures.includes('aggregates.create');
  const settings = readLauncherEnv();
  const work = mkdtempSync('/tmp/aster-bench-');
  chmodSync(work, 0o755);
  mkdirSync(join(work, 'logs'));
  const services: RunningService[] = [];
  let pg: LocalPostgres | null = null;
  let db: Pool | null = null;
  let keepLogs = o.keepLogs;
  // Ctrl-C: nothing of the run may stay behind (processes, Postgres, its folder).
  const onSignal = () => {
    for (const s of services) if (s.child.pid && s.child.exitCode === null) tryKill(-s.child.pid, 'SIGKILL');
    if (pg?.pid) tryKill(pg.pid, 'SIGQUIT');
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    pg = await startPostgres(work, settings.ASTER_PG_BIN);
    const password = 'bench-admin-password';
    const { computeUrl } = await prepareDatabase(pg.url, password, { roles: { dir: work } });
    const apiPort = await freePort();
    const inherited = inheritedEnv();
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
    const specs: ServiceSpec[] = [
      { name: 'api', cwd: join(root, 'apps/api'), ...tsx('apps/api/src/main.ts'), env: { ...common, ASTER_API_PORT: String(apiPort), ASTER_IMAGE_DIR: join(work, 'images'), ASTER_SERVICE_HOST: 'bench-api', ...(o.split ? { ASTER_ROLES: 'api' } : {}) }, logFile: join(work, 'logs/api.log'), ready: { log: true } },
    ];
    if (o.split) {
      specs.push({ name: 'workers', cwd: join(root, 'apps/api'), ...tsx('apps/api/src/main.ts'), env: { ...common, ASTER_ROLES: 'scheduler,conductor', ASTER_SERVICE_HOST: 'bench-workers' }, logFile: join(work, 'logs/workers.log'), ready: { log: true } });
    }
    for (let s = 2; s <= o.schedulers; s++) {
      specs.push({ name: `scheduler-${s}`, cwd: join(root, 'apps/api'), ...tsx('apps/api/src/main.ts'), env: { ...common, ASTER_ROLES: 'scheduler', ASTER_SERVICE_HOST: `bench-scheduler-${s}` }, logFile: join(work, `logs/scheduler-${s}.log`), ready: { log: true } });
    }
    for (const spec of specs) {
      const s = startService(spec, say);
      services.push(s);
      await waitReady(s, spec, 60_000);
    }
    const url = `http://127.0.0.1:${apiPort}`;
    const admin = createAsterClient({ url, token: (await login({ url, username: 'admin', password })).token });
    db = createPool({ connectionString: pg.url, max: 4 });

    // The hosts' queues one at a time, before the hosts start: the conductor creates a host's queue when the
    // host registers, and pg-boss's create_queue deadlocks with itself when hundreds run at once.
    say(`${o.hosts} host queues …`);
    const queuesStarted = performance.now();
    const queues = await Jobs.start({ connectionString: pg.url, log: createLogger('bench', { level: 'error' }), max: 2 });
    try {
      for (let i = 0; i < o.hosts; i++) await queues.ensureQueue(computeQueue(hostName(i)), { retryLimit: 2, expireInSeconds: 15 * 60 });
    } finally {
      await queues.stop(500);
    }
    const queueSeconds = round((performance.now() - queuesStarted) / 1000, 1);

    say(`${o.hosts} fake hosts in ${o.fleetProcesses} processes …`);
    const fleetStarted = performance.now();
    const per = Math.ceil(o.hosts / o.fleetProcesses);
    const fleetSpecs: ServiceSpec[] = [];
    for (let p = 0, first = 0; first < o.hosts; p++, first += per) {
      const fleetSettings = { databaseUrl: computeUrl, first, count: Math.min(per, o.hosts - first), heartbeatSeconds: HEARTBEAT_SECONDS, powerSyncSeconds: 600, pollSeconds: o.pollSeconds, poolMax: 6 };
      fleetSpecs.push(fleetSpec(`fleet-${p}`, join(work, `logs/fleet-${p}.log`), fleetSettings, { ...inherited, NODE_ENV: 'production' }));
    }
    const fleet = fleetSpecs.map((spec) => startService(spec, say));
    services.push(...fleet);
    await Promise.all(fleet.map((s, i) => waitReady(s, fleetSpecs[i]!, 300_000)));
    const database = db;
    await waitUntil(async () => {
      const { rows } = await database.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM compute_nodes cn JOIN services s ON s.host = cn.host AND s.binary_name = 'aster-compute' WHERE s.last_seen_at IS NOT NULL`,
      );
      return rows[0]!.n >= o.hosts;
    }, 300_000);
    const fleetSeconds = round((performance.now() - fleetStarted) / 1000, 1);
    say(`fleet registered in ${fleetSeconds} s`);

    // At rest: what the fleet's heartbeats and fallback polls cost with nothing to do, over one heartbeat
    // period once every host's first beat is due (each host beats once in it).
    await sleep(Math.max(0, fleetStarted + HEARTBEAT_SECONDS * 1000 - performance.now()));
    const idleSeconds = HEARTBEAT_SECONDS;
    await database.query('SELECT pg_stat_statements_reset()');
    const idleBefore = cpu(services, pg);
    const xactBefore = await commits(database);
    await sleep(idleSeconds * 1000);
    const idle = {
      seconds: idleSeconds,
      pollSeconds: o.pollSeconds,
      cpuSeconds: cpuDelta(idleBefore, cpu(services, pg)),
      postgresTransactionsPerSecond: round(((await commits(database)) - xactBefore) / idleSeconds, 1),
      postgresTopStatements: await topStatements(database, 6),
    };
    say(`at rest: ${JSON.stringify({ ...idle, postgresTopStatements: undefined })}`);

    const setup = await prepareTenants(admin, database, { url, hosts: o.hosts, projects: PROJECTS, groups, zones });
    const load = plan({ servers: o.servers, clients: o.clients, projects: PROJECTS, groups, zones, multiShare: o.multiShare, multiCount: o.multiCount });
    // A client per sender: one shared client would batch concurrent creates into one request.
    const senders = Array.from({ length: o.clients }, (_, c) => createAsterClient({ url, token: setup.tokens[c % PROJECTS]! }));
    const groupIds = await createGroups(senders, load);

    say(`${o.servers} servers from ${o.clients} clients (${load.creates} creates, ${load.multiCreates} of ${o.multiCount}) onto ${o.hosts} hosts, ${o.schedulers} scheduler process(es) …`);
    await database.query('SELECT pg_stat_statements_reset()');
    const cpuBefore = cpu(services, pg);
    const transactionsBefore = await commits(database);
    const started = Date.now();
    const sent = await runLoad(load, { clients: senders, flavorIds: setup.flavorIds, imageId: setup.imageId, groupIds, db: database, started });
    const settledAt = await lastSettledAt(database);
    const seconds = (settledAt - started) / 1000;
    const burstCpu = cpuDelta(cpuBefore, cpu(services, pg));
    const statements = await topStatements(database);
    const mostPlanned = await topStatements(database, 8, 'plans');
    const statementTotals = { ...(await totalStatements(database, sent.accepted)), transactionsPerServer: round(((await commits(database)) - transactionsBefore) / Math.max(1, sent.accepted)) };
    say(`done: ${sent.accepted} servers in ${round(seconds)} s; cpu seconds ${JSON.stringify(burstCpu)}`);

    say('verifying …');
    const checks = await verify(database, { groups });
    const times = await timings(database);

    say('allocation candidates …');
    const candidatesFn = allocationCandidatesFunction();
    let candidates: Record<string, unknown>;
    if (!candidatesFn) {
      candidates = { missing: 'allocationCandidates is not exported by @aster/api; nothing was timed' };
    } else {
      // At the scheduler's limit (Nova's max_placement_results), and unlimited: a query without an order
      // stops at the limit, so the unlimited one shows the cost of reading every provider.
      const both = async () => ({
        limit1000: await timeCandidates(database, candidatesFn, { zones, limit: 1000 }),
        unlimited: await timeCandidates(database, candidatesFn, { zones, limit: 1_000_000 }),
      });
      const atFleet = await both();
      const extra = Math.max(0, 10_000 - o.hosts);
      await addProviders(database, extra, { zones });
      candidates = { [`providers${o.hosts}`]: atFleet, [`providers${o.hosts + extra}`]: await both() };
    }

    const warnings = logWarnings(join(work, 'logs'));
    const serversPerSecond = round(sent.accepted / seconds, 1);
    const schedulerEnv = Object.fromEntries(Object.entries(inherited).filter(([k]) => k.startsWith('ASTER_SCHEDULER_')));
    const decisionP99 = times.decisionMs?.p99 ?? null;
    const candidatesP50 = (candidates[`providers${o.hosts}`] as { limit1000?: { ms: { p50: number } } } | undefined)?.limit1000?.ms.p50 ?? null;
    const figures = {
      benchmark: 'scheduler',
      setup: {
        hosts: o.hosts,
        fleetProcesses: fleet.length,
        hostSizesGb: [16, 32, 64, 128],
        servers: o.servers,
        clients: o.clients,
        projects: PROJECTS,
        schedulerProcesses: o.schedulers,
        layout: o.split ? 'api | scheduler+conductor' : 'api+scheduler+conductor',
        creates: load.creates,
        multiCreate: { creates: load.multiCreates, count: o.multiCount, servers: load.multiCreates * o.multiCount },
        serverGroups: groups ? { antiAffinity: load.groups.length, size: load.groups[0]?.size ?? 0, withMaxServerPerHost2: load.groups.filter((g) => g.maxServerPerHost === 2).length } : 'not in the API',
        zones: zones ? { az1: 'hosts 0-3 mod 8', az2: 'hosts 4-7 mod 8', asked: '15% az1, 15% az2, 70% any' } : 'not in the API',
        flavors: benchFlavors.map((f) => `${f.vcpus}c/${f.ramMb}MB/${f.diskGb}GB x${f.share}%`),
        heartbeatSeconds: HEARTBEAT_SECONDS,
        serviceDownSeconds: SERVICE_DOWN_SECONDS,
        schedulerEnv,
        hostQueuesSeconds: queueSeconds,
        fleetRegisterSeconds: fleetSeconds,
        postgresSettings: POSTGRES_SETTINGS,
      },
      run: {
        seconds: round(seconds),
        serversPerSecond,
        acceptedSeconds: round(sent.acceptedSeconds),
        accepted: sent.accepted,
        createErrors: sent.errors,
        cpuSeconds: burstCpu,
        postgresStatements: statementTotals,
        postgresTopStatements: statements,
        postgresMostPlanned: mostPlanned,
      },
      ...times,
      allocationCandidates: candidates,
      verification: checks,
      warnings,
      idle,
      goals: {
        serversPerSecond: { goal: 200, got: serversPerSecond, met: serversPerSecond >= 200 },
        decisionP99Ms: { goal: 50, got: decisionP99, met: decisionP99 !== null && decisionP99 <= 50 },
        candidatesP50MsAt1000: { goal: 10, got: candidatesP50, met: candidatesP50 !== null && candidatesP50 <= 10 },
        violations: { goal: 0, got: checks.violations, met: checks.violations === 0 },
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
    keepLogs ||= checks.violations > 0;
    process.stdout.write(JSON.stringify(figures) + '\n');
    return checks.violations === 0 ? 0 : 1;
  } catch (error) {
    keepLogs = true;
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await db?.end().catch(() => {});
    // Fleets first (their hosts say goodbye to the conductor), then the API processes.
    for (const s of [...services].reverse()) await s.stop();
    await pg?.stop();
    // The services' logs say what went wrong; the database goes either way.
    if (keepLogs) {
      const kept = `${work}-logs`;
      renameSync(join(work, 'logs'), kept);
      say(`logs kept in ${kept}`);
    }
    rmSync(work, { recursive: true, force: true });
  }
}

/** A throwaway Postgres with the settings above (a restart applies them) and statement statistics. */
async function startPostgres(work: string, bin: string | undefined): Promise<LocalPostgres> {
  const start = async () => startLocalPostgres({ dir: work, port: await freePort(), bin, logFile: join(work, 'logs', 'postgres.log') });
  const first = await start();
  const pool = createPool({ connectionString: first.url, max: 1 });
  try {
    for (const [name, value] of Object.entries(POSTGRES_SETTINGS)) await pool.query(`ALTER SYSTEM SET ${name} = ${value}`);
    // Which statements Postgres spent its time on during the run.
    await pool.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
  } finally {
    await pool.end();
  }
  await first.stop();
  const pg = await start();
  const after = createPool({ connectionString: pg.url, max: 1 });
  try {
    await after.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    // Planning too: a statement planned at every call can cost Postgres more than it takes to run.
    await after.query('ALTER SYSTEM SET pg_stat_statements.track_planning = on');
    await after.query('SELECT pg_reload_conf()');
  } finally {
    await after.end();
  }
  return pg;
}

/** The statements that took Postgres the most time since the last reset, shortened. */
async function topStatements(db: Pool, limit = 12, by: 'time' | 'plans' = 'time') {
  const { rows } = await db.query<{ query: string; calls: string; plans: string; total_ms: number; mean_ms: number; plan_ms: number; rows: string }>(
    `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls, plans, round(total_exec_time::numeric, 1)::float AS total_ms,
            round(mean_exec_time::numeric, 3)::float AS mean_ms, round(total_plan_time::numeric, 1)::float AS plan_ms, rows
       FROM pg_stat_statements ORDER BY ${by === 'plans' ? 'plans' : 'total_exec_time + total_plan_time'} DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({ totalMs: r.total_ms, planMs: r.plan_ms, calls: Number(r.calls), plans: Number(r.plans), meanMs: r.mean_ms, query: r.query.slice(0, 160) }));
}

/** Every statement Postgres ran since the last reset: how many, and their time, in all and per server. */
async function totalStatements(db: Pool, servers: number) {
  const { rows } = await db.query<{ calls: string; plans: string; exec_ms: number; plan_ms: number; commits: string }>(
    `SELECT sum(calls) AS calls, sum(plans) AS plans, round(sum(total_exec_time)::numeric, 1)::float AS exec_ms,
            round(sum(total_plan_time)::numeric, 1)::float AS plan_ms, sum(calls) FILTER (WHERE query ILIKE 'commit%') AS commits
       FROM pg_stat_statements`,
  );
  const r = rows[0]!;
  const per = (n: number) => round(n / Math.max(1, servers), 2);
  // Counts, unlike times, do not move with how busy the machine is: the figures to compare runs by.
  return {
    calls: Number(r.calls),
    plans: Number(r.plans),
    execMs: r.exec_ms,
    planMs: r.plan_ms,
    perServer: { calls: per(Number(r.calls)), plans: per(Number(r.plans)), commits: per(Number(r.commits ?? 0)), execMs: per(r.exec_ms) },
  };
}

type Cpu = Record<string, number>;

function cpu(services: RunningService[], pg: LocalPostgres): Cpu {
  const out: Cpu = { postgres: postgresCpuSeconds(pg.pid!) };
  for (const s of services) out[s.name] = treeCpuSeconds(s.child.pid!);
  const own = process.cpuUsage();
  out.benchProcess = (own.user + own.system) / 1e6;
  return out;
}

function cpuDelta(before: Cpu, after: Cpu): Cpu {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, round(v - (before[k] ?? 0))]));
}

/** Warnings and errors the services logged, counted by process, message and cause. */
function logWarnings(dir: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.log') && f !== 'postgres.log')) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line.includes('"level":"warn"') && !line.includes('"level":"error"')) continue;
      try {
        const r = JSON.parse(line) as { level: string; msg?: string; job?: string; error?: { message?: string } };
        const key = `${file.replace(/\.log$/, '')} ${r.level}: ${r.msg ?? ''}${r.job ? ` [${r.job}]` : ''}${r.error?.message ? ` (${r.error.message})` : ''}`;
        counts[key] = (counts[key] ?? 0) + 1;
      } catch {
        // not a log record
      }
    }
  }
  return counts;
}

async function commits(db: Pool): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()`);
  return Number(rows[0]!.n);
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}
