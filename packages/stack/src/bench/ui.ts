import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createAsterClient, login } from '@aster/client';
import { serverStatus, type TaskState, type VmState } from '@aster/compute';
import { createPool } from '@aster/db';
import pg from 'pg';
import { chromium, type Browser } from 'playwright-core';
import { prepareDatabase } from '../database.ts';
import { inheritedEnv, readLauncherEnv } from '../env.ts';
import { root } from '../paths.ts';
import { freePort } from '../ports.ts';
import { startLocalPostgres } from '../postgres.ts';
import { startService, waitReady, type RunningService, type ServiceSpec } from '../services.ts';
import { percentiles } from './measure.ts';

const say = (line: string) => process.stderr.write(line + '\n');
const ROUNDS = 40;

/**
 * `npm run bench:ui`: how long after the conductor commits a server's new state the browser shows it in the
 * Instances table. A throwaway Postgres, the API, one FakeDriver agent (so states change at once) and the
 * built web console; Chromium on /servers. The commit is timed by Postgres's notification of it (received
 * here), the browser by a MutationObserver on the row; both are this machine's wall clock. Last line: JSON.
 */
export async function benchUi(): Promise<number> {
  const settings = readLauncherEnv();
  const work = mkdtempSync('/tmp/aster-bench-ui-');
  chmodSync(work, 0o755);
  mkdirSync(join(work, 'logs'));
  const services: RunningService[] = [];
  let browser: Browser | null = null;
  let listener: pg.Client | null = null;
  const pgServer = await startLocalPostgres({ dir: work, port: await freePort(), bin: settings.ASTER_PG_BIN, logFile: join(work, 'logs', 'postgres.log') });
  try {
    const password = 'bench-admin-password';
    const { computeUrl, proxyUrl } = await prepareDatabase(pgServer.url, password, { roles: { dir: work } });
    const [apiPort, webPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
    const common = { ...inheritedEnv(), ASTER_LOG_LEVEL: 'warn', NODE_ENV: 'production' };
    const tsx = (main: string) => ({ command: process.execPath, args: ['--import', 'tsx', join(root, main)] });
    const api = `http://127.0.0.1:${apiPort}`;
    const web = `http://127.0.0.1:${webPort}`;
    const specs: ServiceSpec[] = [
      { name: 'api', cwd: join(root, 'apps/api'), ...tsx('apps/api/src/main.ts'), env: { ...common, ASTER_LOG_LEVEL: 'info', DATABASE_URL: pgServer.url, ASTER_API_PORT: String(apiPort), ASTER_IMAGE_DIR: join(work, 'images') }, logFile: join(work, 'logs/api.log'), ready: { log: true } },
      { name: 'proxy', cwd: join(root, 'apps/proxy'), ...tsx('apps/proxy/src/main.ts'), env: { ...common, ASTER_LOG_LEVEL: 'info', DATABASE_URL: proxyUrl, ASTER_PROXY_PORT: String(proxyPort) }, logFile: join(work, 'logs/proxy.log'), ready: { log: true } },
      { name: 'compute-agent', cwd: join(root, 'apps/compute-agent'), ...tsx('apps/compute-agent/src/main.ts'), env: { ...common, ASTER_LOG_LEVEL: 'info', DATABASE_URL: computeUrl, ASTER_COMPUTE_HOST: 'bench-ui-0', ASTER_DRIVER: 'fake' }, logFile: join(work, 'logs/agent.log'), ready: { log: true } },
      {
        name: 'web',
        cwd: join(root, 'apps/web'),
        command: process.execPath,
        args: [join(root, 'node_modules/next/dist/bin/next'), 'start', '-p', String(webPort), '-H', '127.0.0.1'],
        env: { ...common, ASTER_API_URL: api, NEXT_TELEMETRY_DISABLED: '1' },
        logFile: join(work, 'logs/web.log'),
        ready: { http: `${web}/login` },
      },
    ];
    for (const spec of specs) {
      const s = startService(spec, say);
      services.push(s);
      await waitReady(s, spec, 120_000);
    }
    const { token } = await login({ url: api, username: 'admin', password });
    const client = createAsterClient({ url: api, token });
    const db = createPool({ connectionString: pgServer.url, max: 2 });
    const imageId = (
      await db.query<{ id: string }>(
        `INSERT INTO images (name, visibility, status, disk_format, size_bytes, virtual_size, checksum_sha256) VALUES ('bench', 'public', 'active', 'qcow2', 1048576, 1073741824, repeat('a', 64)) RETURNING id`,
      )
    ).rows[0]!.id;
    const flavorId = (await db.query<{ id: string }>(`SELECT id FROM flavors WHERE name = 'm1.tiny'`)).rows[0]!.id;
    await db.end();

    // Commits, as Postgres announces them: the change's sequence number, resolved at once to the state it wrote.
    const commits: { id: string; status: string; at: number }[] = [];
    listener = new pg.Client({ connectionString: pgServer.url });
    await listener.connect();
    const lookup = listener;
    const reader = new pg.Client({ connectionString: pgServer.url });
    await reader.connect();
    listener.on('notification', (n) => {
      const at = Date.now() + (performance.now() % 1);
      const seq = n.payload?.split(' ')[0];
      void reader
        .query<{ id: string; vm_state: VmState; task_state: TaskState | null }>('SELECT id, vm_state, task_state FROM instances WHERE change_seq = $1', [seq])
        .then(({ rows }) => {
          const row = rows[0];
          if (row && row.task_state === null) commits.push({ id: row.id, status: serverStatus(row.vm_state, null), at });
        });
    });
    await lookup.query('LISTEN aster_instances');

    const [server] = await client.servers.create.mutate({ name: 'bench-ui', flavorId, imageId });
    const id = server!.id;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${web}/login?next=/servers`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${web}/servers`);
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'bench-ui', exact: true }) });
    await row.getByText('ACTIVE', { exact: true }).waitFor({ timeout: 60_000 });
    // The page records when the row first shows each status word, by its own clock (the same wall clock).
    // (A string: this package compiles without the DOM library.)
    await page.evaluate(`(() => {
      const seen = [];
      window.asterSeen = seen;
      let last = '';
      const look = () => {
        const link = [...document.querySelectorAll('tr a')].find((a) => a.textContent.trim() === 'bench-ui');
        const status = link?.closest('tr')?.querySelector('[data-status]')?.getAttribute('data-status') ?? '';
        if ((status === 'SHUTOFF' || status === 'ACTIVE') && status !== last) seen.push({ status, at: performance.timeOrigin + performance.now() });
        last = status;
      };
      new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
    })()`);

    say(`${ROUNDS} stop/start rounds …`);
    for (let i = 0; i < ROUNDS; i++) {
      await client.servers.stop.mutate({ id });
      await row.getByText('SHUTOFF', { exact: true }).waitFor({ timeout: 30_000 });
      await client.servers.start.mutate({ id });
      await row.getByText('ACTIVE', { exact: true }).waitFor({ timeout: 30_000 });
    }
    await new Promise((r) => setTimeout(r, 500));
    const seen = (await page.evaluate('window.asterSeen')) as { status: string; at: number }[];
    const ours = commits.filter((c) => c.id === id);
    const delays: number[] = [];
    for (const shown of seen) {
      // The commit that wrote this status: the last one of it before the browser showed it.
      const commit = ours.filter((c) => c.status === shown.status && c.at <= shown.at + 5).at(-1);
      if (commit) delays.push(shown.at - commit.at);
    }
    await reader.end();
    const p = percentiles(delays.slice(4)); // the first rounds warm up
    const result = { rounds: ROUNDS, changesShown: seen.length, commitToBrowserMs: p, goal: { p99Ms: 200, met: p.p99 <= 200 } };
    say(`commit → row shows it: p50 ${p.p50} ms, p99 ${p.p99} ms over ${p.n} changes`);
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  } finally {
    await browser?.close().catch(() => {});
    await listener?.end().catch(() => {});
    for (const s of [...services].reverse()) await s.stop();
    await pgServer.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
