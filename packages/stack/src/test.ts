import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { prepareDatabase } from './database.ts';
import { inheritedEnv, readLauncherEnv } from './env.ts';
import { startLocalPostgres, type LocalPostgres } from './postgres.ts';
import { networkingEnv, prepareComputeHost, removeDomainsUnder } from './hypervisor.ts';
import { removeCloudRows } from './ovn.ts';
import { dataDir, root } from './paths.ts';
import { freePort } from './ports.ts';
import { build, reachable, startStack, type Stack } from './stack.ts';

interface Tally {
  suite: string;
  passed: number;
  failed: number;
}

const say = (line: string) => process.stdout.write(line + '\n');
const suites = ['build', 'typecheck', 'lint', 'unit', 'e2e'] as const;
type Suite = (typeof suites)[number];

function run(command: string, args: string[], env: Record<string, string>, cwd = root): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (error) => {
      say(`cannot run ${command}: ${error.message}`);
      resolve(127);
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Vitest's JSON report: failed tests, plus files that failed without a failed test (an error while loading). */
function vitestTally(path: string, exitCode: number): Tally {
  const report = readJson(path) as
    | { numPassedTests: number; numFailedTests: number; testResults: { status: string; assertionResults: { status: string }[] }[] }
    | undefined;
  if (!report) return { suite: 'unit', passed: 0, failed: 1 };
  const brokenFiles = report.testResults.filter(
    (f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed'),
  ).length;
  const failed = report.numFailedTests + brokenFiles;
  return { suite: 'unit', passed: report.numPassedTests, failed: failed === 0 && exitCode !== 0 ? 1 : failed };
}

/** Playwright's JSON report: expected results pass, unexpected ones fail, and so does a run that broke outside tests. */
function playwrightTally(path: string, exitCode: number): Tally {
  const report = readJson(path) as { stats?: { expected: number; unexpected: number; flaky: number }; errors?: unknown[] } | undefined;
  if (!report?.stats) return { suite: 'e2e', passed: 0, failed: 1 };
  const failed = report.stats.unexpected + (report.errors?.length ?? 0);
  return { suite: 'e2e', passed: report.stats.expected + report.stats.flaky, failed: failed === 0 && exitCode !== 0 ? 1 : failed };
}

/** Every cloud id in every database and schema of this run's Postgres (each test schema is a cloud of its own). */
async function cloudsIn(url: string): Promise<string[]> {
  const ids: string[] = [];
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  let names: string[];
  try {
    names = (await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE NOT datistemplate')).rows.map((r) => r.datname);
  } finally {
    await admin.end();
  }
  for (const name of names) {
    const u = new URL(url);
    u.pathname = `/${name}`;
    const client = new pg.Client({ connectionString: u.toString() });
    await client.connect().catch(() => null);
    try {
      const { rows: schemas } = await client.query<{ schema: string }>(`SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'cloud_identity'`);
      for (const { schema } of schemas) {
        const { rows } = await client.query<{ id: string }>(`SELECT id FROM "${schema}".cloud_identity`);
        ids.push(...rows.map((r) => r.id));
      }
    } catch {
      // A database this run cannot read holds no cloud of its.
    } finally {
      await client.end().catch(() => {});
    }
  }
  return ids;
}

async function createDatabase(url: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * `npm test [suite…]`: every suite against a throwaway Postgres and a throwaway stack (never the user's data
 * folder), ending with one line `N passed, N failed`. Suites: build, typecheck, lint, unit, e2e (default: all).
 */
export async function testCommand(args: string[]): Promise<number> {
  // Browser specs named by file (`npm test -- e2e tenant-networks.spec.ts`) narrow the e2e suite to them.
  const specs = args.filter((a) => a.endsWith('.spec.ts'));
  const named = args.filter((a) => !a.endsWith('.spec.ts'));
  const unknown = named.filter((a) => !suites.includes(a as Suite));
  if (unknown.length) {
    say(`Unknown suite ${unknown.join(', ')}; the suites are ${suites.join(', ')} (and browser spec files, like tenant-networks.spec.ts)`);
    return 2;
  }
  const wanted = new Set<Suite>(named.length ? (named as Suite[]) : specs.length ? ['e2e'] : suites);
  const settings = readLauncherEnv();
  const env = inheritedEnv();
  const work = mkdtempSync(join(tmpdir(), 'aster-test-'));
  chmodSync(work, 0o755); // Postgres runs as user postgres and must reach its folder.
  mkdirSync(join(work, 'logs'));
  const tallies: Tally[] = [];
  const check = (suite: string, code: number) => tallies.push({ suite, passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1 });

  let postgres: LocalPostgres | undefined;
  let stack: Stack | undefined;
  const cleanup = async () => {
    await stack?.stop();
    // The clouds this run made wrote to the machine's OVN (each tags its rows): their rows go with them.
    const clouds = postgres ? await cloudsIn(postgres.url).catch(() => []) : [];
    await postgres?.stop();
    for (const cloud of clouds) {
      const left = await removeCloudRows(cloud).catch((error: unknown) => String(error));
      if (left) say(`OVN rows of test cloud ${cloud} could not all be removed: ${left}`);
    }
    const left = removeDomainsUnder(work);
    if (left.length) say(`Removed ${left.length} virtual machine(s) the tests left behind: ${left.join(', ')}`);
  };
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    void cleanup().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    if (wanted.has('build') || wanted.has('typecheck') || wanted.has('e2e')) {
      say('\n== build');
      const built = await build(root, env).then(() => 0, (error: Error) => (say(error.message), 1));
      if (wanted.has('build')) check('build', built);
    }
    if (wanted.has('typecheck')) {
      say('\n== typecheck');
      check('typecheck', await run(join(root, 'node_modules/.bin/turbo'), ['run', 'typecheck', '--output-logs=errors-only'], { ...env, TURBO_TELEMETRY_DISABLED: '1' }));
    }
    if (wanted.has('lint')) {
      say('\n== lint');
      check('lint', await run(join(root, 'node_modules/.bin/eslint'), ['--max-warnings=0', '.'], env));
    }
    let compute: Awaited<ReturnType<typeof prepareComputeHost>> | undefined;
    if (wanted.has('unit') || wanted.has('e2e')) {
      say('\n== compute host (libvirt, Open vSwitch and OVN, the guest image)');
      // The guest's build is cached in the data folder, like npm start's; everything else lives in this run's folder.
      compute = await prepareComputeHost(dataDir(settings.ASTER_DATA_DIR), env, say);
      postgres = await startLocalPostgres({ dir: work, port: await freePort(), bin: settings.ASTER_PG_BIN, logFile: join(work, 'logs', 'postgres.log') });
    }
    if (wanted.has('unit') && postgres) {
      say('\n== unit and integration (vitest, real Postgres)');
      const testUrl = await createDatabase(postgres.url, 'aster_test');
      const out = join(work, 'vitest.json');
      const code = await run(
        join(root, 'node_modules/.bin/vitest'),
        ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`],
        { ...env, ASTER_TEST_DATABASE_URL: testUrl, ASTER_TEST_GUEST_IMAGE: compute!.guest.path, ASTER_TEST_WORK_DIR: work },
      );
      tallies.push(vitestTally(out, code));
    }
    if (wanted.has('e2e') && postgres) {
      say('\n== browser (Playwright, Chromium, the whole stack)');
      const adminPassword = randomBytes(12).toString('base64url');
      const { computeUrl, proxyUrl } = await prepareDatabase(postgres.url, adminPassword, {
        roles: { dir: work },
        guestImage: { imageDir: join(work, 'images'), built: compute!.guest },
        // Guests share libvirt's network with any Aster running on this machine (which allocates from .10 up).
        publicPool: { allocationStart: '192.168.122.150', allocationEnd: '192.168.122.199' },
      });
      const host = '127.0.0.1';
      const ports = { api: await freePort(), proxy: await freePort(), web: await freePort(), metadata: await freePort() };
      stack = await startStack(
        {
          root,
          databaseUrl: postgres.url,
          computeDatabaseUrl: computeUrl,
          proxyDatabaseUrl: proxyUrl,
          host,
          ports,
          logDir: join(work, 'logs'),
          logLevel: 'info',
          env,
          secrets: { metadata: randomBytes(32).toString('base64url'), service: randomBytes(32).toString('base64url') },
          compute: { stateDir: join(work, 'compute'), probeImage: compute!.guest.path },
          networking: networkingEnv(compute!.networking),
        },
        say,
      );
      const out = join(work, 'playwright.json');
      const code = await run(
        join(root, 'node_modules/.bin/playwright'),
        ['test', '-c', join(root, 'e2e/playwright.config.ts'), ...specs],
        {
          ...env,
          ASTER_WEB_URL: `http://${reachable(host)}:${ports.web}`,
          ASTER_API_URL: `http://${reachable(host)}:${ports.api}`,
          ASTER_ADMIN_PASSWORD: adminPassword,
          ASTER_E2E_JSON: out,
        },
        join(root, 'e2e'),
      );
      tallies.push(playwrightTally(out, code));
    }
  } catch (error) {
    say(`\nThe test run broke: ${error instanceof Error ? error.message : String(error)}`);
    tallies.push({ suite: 'setup', passed: 0, failed: 1 });
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const passed = tallies.reduce((n, t) => n + t.passed, 0);
  const failed = tallies.reduce((n, t) => n + t.failed, 0);
  say('');
  for (const t of tallies) say(`  ${t.suite.padEnd(10)} ${t.passed} passed, ${t.failed} failed`);
  if (failed === 0) rmSync(work, { recursive: true, force: true });
  else if (existsSync(work)) say(`  logs kept in ${join(work, 'logs')}`);
  say(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}
