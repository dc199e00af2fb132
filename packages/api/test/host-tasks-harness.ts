import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComputeAgent } from '@aster/agent';
import type { TestDatabase } from '@aster/db/testing';
import { Jobs } from '@aster/jobs';
import { FakeDriver, type FakeAction, type FakeDriverOptions, type InstanceInfo, type InstanceSpec } from '@aster/virt';
import { createImagesHandler } from '../../../apps/api/src/images-http.ts';
import { defaultApiConfig } from '../src/index.ts';
import { afterAll, beforeAll } from 'vitest';
import { computeStack, waitFor, waitForStatus, type ComputeStack } from './compute-harness.ts';
import { silentLog } from './harness.ts';

/**
 * A FakeDriver that remembers the specs it was asked to build, rebuild and rescue from, and whose resize and rebuild
 * wait for `hold` when one is set (so a test sees the task states on the way).
 */
export class RecordingDriver extends FakeDriver {
  readonly specs: InstanceSpec[] = [];
  hold: Promise<void> | null = null;

  /** Holds resizes and rebuilds until the answered function is called. */
  holdTasks(): () => void {
    let release = () => {};
    this.hold = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.hold = null;
      release();
    };
  }

  override async resize(id: string, flavor: InstanceSpec['flavor']): Promise<void> {
    await this.hold;
    return super.resize(id, flavor);
  }

  override async spawn(spec: InstanceSpec, progress?: (step: string) => void): Promise<InstanceInfo> {
    this.specs.push(structuredClone(spec));
    return super.spawn(spec, progress);
  }

  override async rebuild(spec: InstanceSpec): Promise<InstanceInfo> {
    await this.hold;
    this.specs.push(structuredClone(spec));
    return super.rebuild(spec);
  }

  override async rescue(spec: InstanceSpec): Promise<InstanceInfo> {
    this.specs.push(structuredClone(spec));
    return super.rescue(spec);
  }
}

/**
 * The image endpoint of the API over real HTTP (the same handler apps/api mounts), with its own image folder,
 * signing with the secret every other part of the test process uses (defaultApiConfig's).
 */
export async function imageEndpoint(db: TestDatabase): Promise<{ url: string; imageDir: string; close(): Promise<void> }> {
  const imageDir = mkdtempSync(join(tmpdir(), 'aster-host-tasks-images-'));
  const handler = createImagesHandler({ db: db.pool, log: silentLog, config: { ...defaultApiConfig, imageDir } });
  const server: Server = createServer((req, res) => void handler(req, res, new URL(req.url ?? '/', 'http://localhost')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    imageDir,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(imageDir, { recursive: true, force: true });
    },
  };
}

/**
 * A compute host that knows the API's URL (for snapshot uploads), added to `stack` so that it stops with it.
 * `failActions` stays the caller's object: setting a key on it later makes that action fail from then on.
 */
export async function addHostWithApi(
  db: TestDatabase,
  stack: ComputeStack,
  name: string,
  apiUrl: string,
  options: FakeDriverOptions & { failActions?: Partial<Record<FakeAction, string>> } = {},
) {
  const jobs = await Jobs.start({ connectionString: db.url, log: silentLog, schema: `${db.schema}_boss`, max: 3 });
  const driver = new RecordingDriver(options);
  const agent = new ComputeAgent({ host: name, jobs, driver, log: silentLog, apiUrl, heartbeatSeconds: 3600, powerSyncSeconds: 3600 });
  await agent.start();
  await waitFor(async () => (await db.pool.query('SELECT 1 FROM compute_nodes WHERE host = $1', [name])).rows.length > 0, `host ${name} registered`);
  stack.hosts.push({ name, driver, agent, jobs });
  return { name, driver, agent, jobs };
}

/** Allocations of the given consumers, by consumer and resource class. */
export async function allocationsOf(db: TestDatabase, consumers: string[]) {
  const { rows } = await db.pool.query<{ consumer_id: string; resource_class: string; used: number }>(
    'SELECT consumer_id, resource_class, used FROM allocations WHERE consumer_id = ANY($1::uuid[]) ORDER BY consumer_id, resource_class',
    [consumers],
  );
  const out: Record<string, Record<string, number>> = {};
  for (const r of rows) (out[r.consumer_id] ??= {})[r.resource_class] = r.used;
  return out;
}

/** Each inventory's `used` equals the sum of its allocations (placement's own bookkeeping holds). */
export async function usageMatchesAllocations(db: TestDatabase): Promise<boolean> {
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM inventories i
      WHERE i.used <> COALESCE((SELECT sum(a.used) FROM allocations a WHERE a.provider_id = i.provider_id AND a.resource_class = i.resource_class), 0)`,
  );
  return rows[0]!.n === 0;
}

/**
 * A test file's compute stack with one host that reaches the image endpoint, an active image and m1.tiny.
 * `failActions` stays the file's object: setting a key on it makes that host action fail from then on.
 */
export function useHostTasks(db: TestDatabase, o: { host: string; image: string; imageOptions?: Parameters<ComputeStack['image']>[1] }) {
  const h = {
    failActions: {} as Partial<Record<FakeAction, string>>,
    stack: undefined as unknown as ComputeStack,
    endpoint: undefined as unknown as Awaited<ReturnType<typeof imageEndpoint>>,
    driver: undefined as unknown as RecordingDriver,
    imageId: '',
    tiny: '',
    /** A new server of `api`'s project on the image and m1.tiny, once ACTIVE. */
    async activeServer(api: ReturnType<ComputeStack['api']>, name: string) {
      const [s] = await api.servers.create({ name, flavorId: h.tiny, imageId: h.imageId });
      return waitForStatus(api, s!.id, 'ACTIVE');
    },
  };
  beforeAll(async () => {
    h.stack = await computeStack(db);
    h.endpoint = await imageEndpoint(db);
    ({ driver: h.driver } = await addHostWithApi(db, h.stack, o.host, h.endpoint.url, { failActions: h.failActions }));
    h.imageId = await h.stack.image(o.image, o.imageOptions);
    h.tiny = await h.stack.flavor('m1.tiny');
  }, 30_000);
  afterAll(async () => {
    await h.stack?.stop();
    await h.endpoint?.close();
  });
  return h;
}
