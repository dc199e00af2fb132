import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ComputeAgent } from '@aster/agent';
import { createAsterClient, login, type AsterClient } from '@aster/client';
import { createPool, type Pool } from '@aster/db';
import { handler, Jobs, type JobContract } from '@aster/jobs';
import { createLogger } from '@aster/log';
import { FakeDriver } from '@aster/virt';
import { z } from 'zod';
import { prepareDatabase } from '../database.ts';
import { inheritedEnv, readLauncherEnv } from '../env.ts';
import { root } from '../paths.ts';
import { freePort } from '../ports.ts';
import { startLocalPostgres, type LocalPostgres } from '../postgres.ts';
import { startService, waitReady, type RunningService, type ServiceSpec } from '../services.ts';
import { mb, percentiles, treeCpuSeconds, treeMemory } from './measure.ts';

const quiet = createLogger('bench', { level: 'error' });
const say = (line: string) => process.stderr.write(line + '\n');
const round = (n: number) => Math.round(n * 100) / 100;

/** The control plane under measure: its processes, its Postgres, an admin client, a pool for looking. */
interface Plane {
  pg: LocalPostgres;
  services: RunningService[];
  /** The nine hosts of this process, each with its own queue connection. */
  inProcess: { agent: ComputeAgent; jobs: Jobs }[];
  client: AsterClient;
  db: Pool;
  imageId: string;
  flavorId: string;
}

/**
 * `npm run bench:api`: a throwaway Postgres and control plane (api with its scheduler and conductor roles,
 * proxy, one agent process, nine more FakeDriver hosts in this process), then the figures of the compute
 * API. The last line of output is one JSON object.
 */
export async function benchApi(): Promise<number> {
  const work = mkdtempSync('/tmp/aster-bench-');
  chmodSync(work, 0o755);
  mkdirSync(join(work, 'logs'));
  const services: RunningService[] = [];
  const inProcess: Plane['inProcess'] = [];
  const settings = readLauncherEnv();
  const pg = await startLocalPostgres({ dir: work, port: await freePort(), bin: settings.ASTER_PG_BIN, logFile: join(work, 'logs', 'postgres.log') });
  try {
    const plane = await setUp(work, pg, services, inProcess);
    const watch = watcher(plane.client);
    await watch.ready;
    const oneAtATime = await createAndDeleteOneAtATime(plane, watch);
    say(`create phases, median ms after the create committed: ${JSON.stringify(await createPhases(plane.db))}`);
    const burst = await burstOfCreates(plane, watch);
    const listMs = await listPages(plane, burst.ids.length);
    say('job pickup latency …');
    const pickupMs = await jobPickup(pg.url);
    watch.close();
    await plane.db.end();
    process.stdout.write(JSON.stringify(figures(oneAtATime, burst.figures, listMs, pickupMs, plane.memory)) + '\n');
    return 0;
  } finally {
    for (const h of inProcess) {
      await h.agent.stop().catch(() => {});
      await h.jobs.stop(500);
    }
    for (const s of services.reverse()) await s.stop();
    await pg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Setup: the schema, the api, proxy and agent processes (pushed to `services` as they start, for the caller to
 * stop), their memory once at rest, nine more hosts in this process, unlimited quotas, an image and a flavor.
 */
async function setUp(work: string, pg: LocalPostgres, services: RunningService[], inProcess: Plane['inProcess']): Promise<Plane & { memory: MemoryAtRest }> {
  const password = 'bench-admin-password';
  const { computeUrl } = await prepareDatabase(pg.url, password, { roles: { dir: work } });
  const apiPort = await freePort();
  const common = { ...inheritedEnv(), DATABASE_URL: pg.url, ASTER_LOG_LEVEL: 'info', NODE_ENV: 'production' };
  const tsx = (main: string) => ({ command: process.execPath, args: ['--import', 'tsx', join(root, main)] });
  const specs: ServiceSpec[] = [
    { name: 'api', cwd: join(root, 'apps/api'), ...tsx('apps/api/src/main.ts'), env: { ...common, ASTER_API_PORT: String(apiPort), ASTER_IMAGE_DIR: join(work, 'images') }, logFile: join(work, 'logs/api.log'), ready: { log: true } },
    { name: 'proxy', cwd: join(root, 'apps/proxy'), ...tsx('apps/proxy/src/main.ts'), env: { ...common, ASTER_PROXY_PORT: String(await freePort()) }, logFile: join(work, 'logs/proxy.log'), ready: { log: true } },
    { name: 'compute-agent', cwd: join(root, 'apps/compute-agent'), ...tsx('apps/compute-agent/src/main.ts'), env: { ...common, DATABASE_URL: computeUrl, ASTER_COMPUTE_HOST: 'bench-0', ASTER_DRIVER: 'fake' }, logFile: join(work, 'logs/agent.log'), ready: { log: true } },
  ];
  for (const spec of specs) {
    const s = startService(spec, say);
    services.push(s);
    await waitReady(s, spec, 60_000);
  }
  const url = `http://127.0.0.1:${apiPort}`;
  const { token } = await login({ url, username: 'admin', password });
  const client = createAsterClient({ url, token });

  // At rest: everything started and idle for a few seconds.
  await new Promise((r) => setTimeout(r, 5000));
  const memory = memoryAtRest(services, pg);

  // Nine more hosts, in this process, each with its own queue connection.
  for (let i = 1; i < 10; i++) {
    const jobs = await Jobs.start({ connectionString: computeUrl, log: quiet, max: 2, migrate: false });
    const agent = new ComputeAgent({ host: `bench-${i}`, jobs, driver: new FakeDriver(), log: quiet });
    await agent.start();
    inProcess.push({ agent, jobs });
  }
  const db = createPool({ connectionString: pg.url, max: 4 });
  await waitUntil(async () => (await db.query('SELECT count(*)::int AS n FROM compute_nodes')).rows[0].n === 10);
  const admin = (await db.query<{ id: string }>(`SELECT id FROM projects WHERE is_admin`)).rows[0]!.id;
  await client.quotas.set.mutate({ project: admin, limits: { instances: -1, cores: -1, ramMb: -1 } });
  const imageId = (
    await db.query<{ id: string }>(
      `INSERT INTO images (name, visibility, status, disk_format, size_bytes, virtual_size, checksum_sha256) VALUES ('bench', 'public', 'active', 'qcow2', 1048576, 1073741824, repeat('a', 64)) RETURNING id`,
    )
  ).rows[0]!.id;
  const flavorId = (await db.query<{ id: string }>(`SELECT id FROM flavors WHERE name = 'm1.tiny'`)).rows[0]!.id;
  return { pg, services, inProcess, client, db, imageId, flavorId, memory };
}

type MemoryAtRest = Record<'api' | 'proxy' | 'agent' | 'postgres', { rss: number; pss: number }>;

/** The memory of every process at rest (said on the way). */
function memoryAtRest(services: RunningService[], pg: LocalPostgres): MemoryAtRest {
  const memory = {
    api: treeMemory(services[0]!.child.pid!),
    proxy: treeMemory(services[1]!.child.pid!),
    agent: treeMemory(services[2]!.child.pid!),
    postgres: treeMemory(pg.pid!),
  };
  say(`memory at rest: ${JSON.stringify(Object.fromEntries(Object.entries(memory).map(([k, v]) => [k, { rssMb: mb(v.rss), pssMb: mb(v.pss) }])))}`);
  return memory;
}

/** Workload: one server created until ACTIVE and deleted until gone, sixty times (the first ten warm up). */
async function createAndDeleteOneAtATime(plane: Plane, watch: Watcher): Promise<{ createMs: number[]; deleteMs: number[] }> {
  say('create → ACTIVE and delete → gone, one at a time …');
  const createMs: number[] = [];
  const deleteMs: number[] = [];
  for (let i = 0; i < 60; i++) {
    let t = performance.now();
    const [s] = await plane.client.servers.create.mutate({ name: `one-${i}`, flavorId: plane.flavorId, imageId: plane.imageId });
    await watch.until(s!.id, 'ACTIVE');
    if (i >= 10) createMs.push(performance.now() - t);
    t = performance.now();
    await plane.client.servers.delete.mutate({ id: s!.id });
    await watch.until(s!.id, 'DELETED');
    if (i >= 10) deleteMs.push(performance.now() - t);
  }
  return { createMs, deleteMs };
}

/** Where the time of one create went: median ms from the create's commit to scheduled, built and active. */
async function createPhases(db: Pool): Promise<unknown> {
  const phases = await db.query(
    `SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.started_at - a.started_at) * 1000)::numeric, 1) AS scheduled,
            round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM b.started_at - s.started_at) * 1000)::numeric, 1) AS built,
            round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM i.launched_at - a.started_at) * 1000)::numeric, 1) AS active
       FROM instances i JOIN instance_actions a ON a.instance_id = i.id AND a.action = 'create'
       JOIN instance_action_events s ON s.action_id = a.id AND s.event = 'schedule'
       JOIN instance_action_events b ON b.action_id = a.id AND b.event = 'build'
      WHERE i.name LIKE 'one-%'`,
  );
  return phases.rows[0];
}

/** Workload: 200 servers from 10 clients at once, until every one is ACTIVE (or ERROR), with the CPU it took. */
async function burstOfCreates(plane: Plane, watch: Watcher) {
  say('200 servers from 10 clients onto 10 hosts …');
  const { client, services, pg } = plane;
  let errors = 0;
  const cpu = () => ({ api: treeCpuSeconds(services[0]!.child.pid!), postgres: treeCpuSeconds(pg.pid!), bench: process.cpuUsage() });
  const cpuBefore = cpu();
  const started = performance.now();
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: 10 }, async (_, c) => {
      for (let i = 0; i < 20; i++) {
        try {
          const [s] = await client.servers.create.mutate({ name: `many-${c}-${i}`, flavorId: plane.flavorId, imageId: plane.imageId });
          ids.push(s!.id);
        } catch {
          errors++;
        }
      }
    }),
  );
  const acceptedSeconds = (performance.now() - started) / 1000;
  const outcomes = await Promise.all(ids.map((id) => watch.until(id, 'ACTIVE', ['ERROR'])));
  const seconds = (performance.now() - started) / 1000;
  errors += outcomes.filter((o) => o !== 'ACTIVE').length;
  const cpuAfter = cpu();
  const ownCpu = process.cpuUsage(cpuBefore.bench);
  return {
    ids,
    figures: {
      servers: 200,
      clients: 10,
      hosts: 10,
      seconds: round(seconds),
      serversPerSecond: Math.round((200 / seconds) * 10) / 10,
      // When the last create was answered (all 200 in BUILD).
      acceptedSeconds: round(acceptedSeconds),
      errors,
      cpuSeconds: {
        api: round(cpuAfter.api - cpuBefore.api),
        postgres: round(cpuAfter.postgres - cpuBefore.postgres),
        // The client side and the nine in-process hosts.
        benchProcess: Math.round((ownCpu.user + ownCpu.system) / 10_000) / 100,
      },
    },
  };
}

/** Workload: servers.list, a page of 100 out of 10,000 (rows added up to that), first pages and later ones alike. */
async function listPages(plane: Plane, existing: number): Promise<number[]> {
  say('servers.list: a page of 100 out of 10,000 …');
  const { db, client } = plane;
  const admin = (await db.query<{ id: string }>(`SELECT id FROM projects WHERE is_admin`)).rows[0]!.id;
  await db.query(
    `INSERT INTO instances (id, project_id, name, hostname, flavor_id, flavor, image_id, image, vm_state, power_state, host, reservation_id)
     SELECT gen_random_uuid(), $1, 'list-' || g, 'list-' || g, $2, '{"id":"x","name":"m1.tiny","vcpus":1,"ramMb":512,"diskGb":1,"extraSpecs":{}}', $3,
            '{"id":"x","name":"bench"}', 'active', 1, 'bench-0', 'r-bench'
       FROM generate_series(1, ${10_000 - existing}) g`,
    [admin, plane.flavorId, plane.imageId],
  );
  await db.query('ANALYZE instances');
  const listMs: number[] = [];
  let marker: string | undefined;
  for (let i = 0; i < 220; i++) {
    const t = performance.now();
    const page = await client.servers.list.query({ limit: 100, ...(marker ? { marker } : {}) });
    if (i >= 20) listMs.push(performance.now() - t);
    marker = i % 2 === 0 ? (page.nextMarker ?? undefined) : undefined;
    // Verification: every page is whole.
    if (page.servers.length !== 100) throw new Error(`a page held ${page.servers.length} servers`);
  }
  return listMs;
}

/** Figures: the one JSON object the benchmark prints. */
function figures(
  oneAtATime: { createMs: number[]; deleteMs: number[] },
  burst: Awaited<ReturnType<typeof burstOfCreates>>['figures'],
  listMs: number[],
  pickupMs: number[],
  memory: MemoryAtRest,
) {
  const total = Object.values(memory).reduce((s, m) => ({ rss: s.rss + m.rss, pss: s.pss + m.pss }), { rss: 0, pss: 0 });
  return {
    benchmark: 'api',
    createToActiveMs: percentiles(oneAtATime.createMs),
    deleteToGoneMs: percentiles(oneAtATime.deleteMs),
    burst,
    listPage100Of10000Ms: percentiles(listMs),
    jobPickupMs: percentiles(pickupMs),
    memoryAtRestMb: {
      totalPss: mb(total.pss),
      totalRss: mb(total.rss),
      ...Object.fromEntries(Object.entries(memory).map(([k, v]) => [k, { pss: mb(v.pss), rss: mb(v.rss) }])),
    },
    peer: { name: 'Nova Zed (fake driver, keystone, placement, RabbitMQ), measured on this machine', createToActiveP50Ms: 779, deleteMs: 481, serversPerSecond: 0.94, listPage100Ms: 177, memoryMb: 2600 },
  };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** servers.watch over SSE, with a promise per (server, status) awaited by the measurements. */
type Watcher = ReturnType<typeof watcher>;

function watcher(client: AsterClient) {
  const seen = new Map<string, string>();
  const waiters = new Map<string, { statuses: string[]; resolve: (s: string) => void }[]>();
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const sub = client.servers.watch.subscribe(
    {},
    {
      onStarted: () => readyResolve(),
      onData: (event) => {
        const s = event.data;
        seen.set(s.id, s.status);
        const list = waiters.get(s.id) ?? [];
        const done = list.filter((w) => w.statuses.includes(s.status) && s.taskState === null);
        for (const w of done) w.resolve(s.status);
        waiters.set(s.id, list.filter((w) => !done.includes(w)));
      },
    },
  );
  return {
    ready,
    until(id: string, status: string, orStatuses: string[] = []): Promise<string> {
      const statuses = [status, ...orStatuses];
      const now = seen.get(id);
      if (now && statuses.includes(now)) return Promise.resolve(now);
      return new Promise((resolve) => waiters.set(id, [...(waiters.get(id) ?? []), { statuses, resolve }]));
    },
    close: () => sub.unsubscribe(),
  };
}

const pickupJob: JobContract<'benchPickup', z.ZodObject<{ sentAt: z.ZodNumber }>> = { name: 'benchPickup', version: 1, schema: z.object({ sentAt: z.number() }) };

/** Send to handler, through Postgres: jobs sent one by one to an idle worker in another connection. */
async function jobPickup(url: string): Promise<number[]> {
  const sender = await Jobs.start({ connectionString: url, log: quiet, max: 2 });
  const worker = await Jobs.start({ connectionString: url, log: quiet, max: 2 });
  await sender.ensureQueue('bench-pickup');
  const samples: number[] = [];
  let next: (() => void) | null = null;
  worker.work('bench-pickup', [
    handler(pickupJob, async (p) => {
      samples.push(performance.timeOrigin + performance.now() - p.sentAt);
      next?.();
    }),
  ]);
  for (let i = 0; i < 220; i++) {
    const got = new Promise<void>((r) => (next = r));
    await sender.send(pickupJob, 'bench-pickup', { sentAt: performance.timeOrigin + performance.now() }, { requestId: `pickup-${i}` });
    await got;
    await new Promise((r) => setTimeout(r, 5));
  }
  await worker.stop(500);
  await sender.stop(500);
  return samples.slice(20);
}
