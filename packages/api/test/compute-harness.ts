import { ComputeAgent } from '@aster/agent';
import type { TestDatabase } from '@aster/db/testing';
import { Jobs, SCHEDULER_QUEUE } from '@aster/jobs';
import { FakeDriver, type FakeDriverOptions } from '@aster/virt';
import { afterAll, beforeAll, expect } from 'vitest';
import {
  createCaller,
  createContext,
  defaultSchedulerConfig,
  type SchedulerConfig,
  InstanceChanges,
  publicNetworkDefaults,
  seedFlavors,
  seedPublicNetwork,
  startConductor,
  startScheduler,
  type ConductorConfig,
} from '../src/index.ts';
import { adminSession, silentLog, userSession } from './harness.ts';

export interface Host {
  name: string;
  driver: FakeDriver;
  agent: ComputeAgent;
  jobs: Jobs;
}

/**
 * A whole control plane in the test process: the scheduler and conductor roles on the file's own schema and
 * pg-boss schema, real job queues, and compute agents with FakeDrivers.
 */
export async function computeStack(
  db: TestDatabase,
  options: { conductor?: Partial<ConductorConfig>; scheduler?: Partial<SchedulerConfig>; /** false: no scheduler works its queue (a test drives it). */ scheduling?: boolean } = {},
) {
  const bossSchema = `${db.schema}_boss`;
  const jobs = await Jobs.start({ connectionString: db.url, log: silentLog, schema: bossSchema, supervise: false, max: 8 });
  const changes = new InstanceChanges({ connectionString: db.url, log: silentLog, db: db.pool });
  await changes.start();
  await seedFlavors(db.pool);
  await seedPublicNetwork(db.pool, publicNetworkDefaults);
  // Every decision reads the hosts afresh unless a test asks otherwise: tests change hosts and build at once.
  // It hears host changes as a deployed one does, so that a test keeping the view longer sees hosts come and go.
  const schedulerConfig: SchedulerConfig = { ...defaultSchedulerConfig, hostStateTtlMs: 0, ...options.scheduler };
  const scheduler =
    options.scheduling === false
      ? await jobs.ensureQueue(SCHEDULER_QUEUE).then(() => ({ stop: async () => {} }))
      : await startScheduler({ db: db.pool, jobs, log: silentLog, connectionString: db.url, config: schedulerConfig });
  const conductorConfig: ConductorConfig = {
    ratios: { cpu: 4, ram: 1, disk: 1 },
    buildTimeoutSeconds: 600,
    serviceDownSeconds: 60,
    sweepSeconds: 3600,
    ...options.conductor,
  };
  await startConductor({ db: db.pool, jobs, log: silentLog, config: conductorConfig });
  const hosts: Host[] = [];
  // Hosts whose agent still runs: neither retired nor killed.
  const running = new Set<string>();
  const admin = await adminSession(db.pool);

  // A fresh context (and request id) per call, as over HTTP.
  const api = (token: string) => createCaller(() => createContext({ db: db.pool, token, log: silentLog, jobs, changes }));

  return {
    jobs,
    changes,
    hosts,
    conductorDeps: { db: db.pool, jobs, log: silentLog, config: conductorConfig },
    schedulerDeps: { db: db.pool, jobs, log: silentLog, config: schedulerConfig },
    admin: { ...admin, api: api(admin.token) },
    api,
    async addHost(name: string, driverOptions: FakeDriverOptions = {}): Promise<Host> {
      const hostJobs = await Jobs.start({ connectionString: db.url, log: silentLog, schema: bossSchema, max: 3 });
      const driver = new FakeDriver(driverOptions);
      const agent = new ComputeAgent({ host: name, jobs: hostJobs, driver, log: silentLog, heartbeatSeconds: 3600, powerSyncSeconds: 3600 });
      await agent.start();
      await waitFor(async () => {
        const { rows } = await db.pool.query(`SELECT 1 FROM compute_nodes WHERE host = $1`, [name]);
        return rows.length > 0;
      }, `host ${name} registered`);
      const host = { name, driver, agent, jobs: hostJobs };
      hosts.push(host);
      running.add(name);
      return host;
    },
    /** Stops a host cleanly and waits until the scheduler sees it down, so later builds go elsewhere. */
    async retire(name: string): Promise<void> {
      const host = hosts.find((h) => h.name === name);
      if (!host || !running.delete(name)) throw new Error(`no running host ${name} in this stack`);
      await host.agent.stop();
      await waitFor(async () => {
        const { rows } = await db.pool.query(`SELECT 1 FROM services WHERE host = $1 AND binary_name = 'aster-compute' AND stopped_at IS NOT NULL`, [name]);
        return rows.length > 0;
      }, `host ${name} stopped`);
      await host.jobs.stop(1000);
    },
    /** Retires every host still running (between tests, so that each test sees only its own hosts). */
    async retireAll(): Promise<void> {
      for (const name of [...running]) await this.retire(name);
    },
    /** The agent dies: no clean stop, so its service stays "up" until its heartbeat is old; its work is lost. */
    async kill(name: string): Promise<void> {
      const host = hosts.find((h) => h.name === name);
      if (!host || !running.delete(name)) throw new Error(`no running host ${name} in this stack`);
      await host.jobs.stop(0);
    },
    /** One more scheduler, with its own queue connection, working the same queue as the first (two racing). */
    async startScheduler(config: Partial<SchedulerConfig> = {}): Promise<{ stop(): Promise<void> }> {
      const own = await Jobs.start({ connectionString: db.url, log: silentLog, schema: bossSchema, supervise: false, max: 8 });
      const started = await startScheduler({ db: db.pool, jobs: own, log: silentLog, connectionString: db.url, config: { ...defaultSchedulerConfig, ...config } });
      return {
        async stop() {
          await own.stop(1000);
          await started.stop();
        },
      };
    },
    /** An active public image, as if uploaded. */
    async image(name = 'tiny', extra: { minRamMb?: number; minDiskGb?: number; status?: string } = {}): Promise<string> {
      const { rows } = await db.pool.query<{ id: string }>(
        `INSERT INTO images (name, visibility, status, disk_format, size_bytes, virtual_size, checksum_sha256, min_ram_mb, min_disk_gb)
         VALUES ($1, 'public', $2, 'qcow2', 1048576, 1073741824, repeat('a', 64), $3, $4) RETURNING id`,
        [name, extra.status ?? 'active', extra.minRamMb ?? 0, extra.minDiskGb ?? 0],
      );
      return rows[0]!.id;
    },
    async flavor(name: string): Promise<string> {
      const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM flavors WHERE name = $1', [name]);
      return rows[0]!.id;
    },
    async stop() {
      await scheduler.stop();
      for (const h of hosts) {
        await h.agent.stop().catch(() => {});
        await h.jobs.stop(1000);
      }
      await jobs.stop(1000);
      await changes.stop();
    },
  };
}

export type ComputeStack = Awaited<ReturnType<typeof computeStack>>;

/** Polls `check` until it answers true; `what` may be a function, to describe the last state seen. */
export async function waitFor(check: () => Promise<boolean>, what: string | (() => string), timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  expect.fail(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
}

/** Waits until the server reaches `status` (and is idle), answering it. */
export async function waitForStatus(api: ReturnType<ComputeStack['api']>, id: string, status: string, timeoutMs = 10_000) {
  let last: Awaited<ReturnType<typeof api.servers.get>> | undefined;
  await waitFor(
    async () => {
      last = await api.servers.get({ id });
      return last.status === status && last.taskState === null;
    },
    () => `server ${id} to be ${status} (last: ${last?.status}/${last?.taskState})`,
    timeoutMs,
  );
  return last!;
}

/**
 * A test file's control plane: started before its tests (with one FakeDriver host when `host` is named, an
 * active public image and m1.tiny at hand, and a member of a project of its own as `tenant` asks, its quotas
 * lifted when `unlimited`) and stopped after them.
 */
export function useComputeStack(
  db: TestDatabase,
  options: {
    host?: string;
    image: string;
    stack?: Parameters<typeof computeStack>[1];
    tenant?: { name: string; project: string; unlimited?: boolean };
  },
) {
  const env = {} as { stack: ComputeStack; imageId: string; tiny: string; api: ReturnType<ComputeStack['api']> };
  beforeAll(async () => {
    env.stack = await computeStack(db, options.stack);
    if (options.host) await env.stack.addHost(options.host);
    env.imageId = await env.stack.image(options.image);
    env.tiny = await env.stack.flavor('m1.tiny');
    const t = options.tenant;
    if (t) {
      const tenant = await userSession(db.pool, env.stack.admin.api, { name: t.name, project: t.project, role: 'member' });
      env.api = env.stack.api(tenant.token);
      if (t.unlimited) {
        await env.stack.admin.api.quotas.set({ project: t.project, limits: { instances: -1, cores: -1, ramMb: -1, serverGroups: -1, serverGroupMembers: -1 } });
      }
    }
  }, 30_000);
  afterAll(() => env.stack?.stop());
  return env;
}
