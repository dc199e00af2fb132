import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureAdmin, publicNetworkDefaults, seedFlavors, seedPublicNetwork, type BootstrapResult } from '@aster/api';
import { createPool, migrate, type MigrateResult } from '@aster/db';
import { CONDUCTOR_QUEUE, grantQueueRole, Jobs, NETWORK_QUEUE, SCHEDULER_QUEUE } from '@aster/jobs';
import { createLogger } from '@aster/log';
import { registerGuestImage, type GuestImage } from './guest-image.ts';
import { startLocalPostgres, type LocalPostgres } from './postgres.ts';
import type { LauncherSettings } from './env.ts';

export interface Database {
  url: string;
  /** The Postgres this launcher started, if it started one. */
  local: LocalPostgres | null;
}

/** The user's DATABASE_URL, or Aster's own Postgres in the data folder. */
export async function openDatabase(
  settings: LauncherSettings,
  dir: string,
  onSpawn?: (name: string, pid: number | undefined, marker: string) => void,
): Promise<Database> {
  if (settings.DATABASE_URL) return { url: settings.DATABASE_URL, local: null };
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const local = await startLocalPostgres({
    dir,
    port: settings.ASTER_PG_PORT,
    bin: settings.ASTER_PG_BIN,
    logFile: join(dir, 'logs', 'postgres.log'),
  });
  onSpawn?.('postgres', local.pid, local.pgdata);
  return { url: local.url, local };
}

/**
 * Applies migrations, creates the admin project and user, the first start's flavors and network and the guest
 * image aster-tiny, installs the job queues, and with `roles` (Aster's own Postgres) gives compute hosts a
 * role of their own that reaches the queues and nothing else, and the console proxy one that reads console
 * tokens and nothing else (passwords in files in `roles.dir`); their URLs are answered as `computeUrl` and
 * `proxyUrl` (else the same URL).
 */
export async function prepareDatabase(
  url: string,
  adminPassword: string | undefined,
  options: {
    roles?: { dir: string };
    guestImage?: { imageDir: string; built: GuestImage };
    /** Another address pool on libvirt's network (a throwaway stack beside a running Aster on one machine). */
    publicPool?: { allocationStart: string; allocationEnd: string };
  } = {},
): Promise<{ migrations: MigrateResult; admin: BootstrapResult; computeUrl: string; proxyUrl: string }> {
  const pool = createPool({ connectionString: url, max: 2, applicationName: 'aster-launcher' });
  try {
    const migrations = await migrate(pool);
    const admin = await ensureAdmin(pool, { password: adminPassword });
    // The first start's flavors (m1.tiny … m1.large) and the shared network `public` on libvirt's NAT network.
    await seedFlavors(pool);
    await seedPublicNetwork(pool, { ...publicNetworkDefaults, ...options.publicPool });
    // The tiny guest, public as aster-tiny, so a first server can be launched at once.
    if (options.guestImage) await registerGuestImage(pool, options.guestImage.imageDir, options.guestImage.built);
    const jobs = await Jobs.start({ connectionString: url, log: createLogger('launcher', { level: 'error' }), max: 2 });
    try {
      for (const queue of [SCHEDULER_QUEUE, CONDUCTOR_QUEUE, NETWORK_QUEUE]) await jobs.ensureQueue(queue, { retryLimit: 5, expireInSeconds: 300 });
    } finally {
      await jobs.stop(1000);
    }
    if (!options.roles) return { migrations, admin, computeUrl: url, proxyUrl: url };
    const database = decodeURIComponent(new URL(url).pathname.slice(1));
    const compute = roleUrl(url, COMPUTE_ROLE, passwordIn(join(options.roles.dir, 'compute.password')));
    await grantQueueRole(pool, { role: COMPUTE_ROLE, password: compute.password, database });
    const proxy = roleUrl(url, PROXY_ROLE, passwordIn(join(options.roles.dir, 'proxy.password')));
    await grantConsoleTokenReader(pool, { role: PROXY_ROLE, password: proxy.password, database });
    return { migrations, admin, computeUrl: compute.url, proxyUrl: proxy.url };
  } finally {
    await pool.end();
  }
}

/** The database role of compute hosts on Aster's own Postgres. */
export const COMPUTE_ROLE = 'aster_compute';
/** The database role of the console proxy: it reads the view console_token_targets and nothing else. */
export const PROXY_ROLE = 'aster_proxy';

function passwordIn(file: string): string {
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

function roleUrl(url: string, role: string, password: string): { url: string; password: string } {
  const u = new URL(url);
  u.username = role;
  u.password = password;
  return { url: u.toString(), password };
}

/** A login role that may read console tokens' targets (the view) and nothing else: not even their table. */
export async function grantConsoleTokenReader(
  db: { query(sql: string, values?: unknown[]): Promise<{ rows: unknown[] }> },
  o: { role: string; password: string; database: string },
): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(o.role)) throw new Error(`role name ${o.role} is not a plain identifier`);
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(o.password)) throw new Error('the proxy role password must be 16 to 128 URL-safe characters');
  const { rows } = await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [o.role]);
  // The password is checked above to hold only URL-safe characters, so quoting it as a literal is safe.
  await db.query(`${rows.length ? 'ALTER' : 'CREATE'} ROLE "${o.role}" LOGIN PASSWORD '${o.password}' NOSUPERUSER NOCREATEDB NOCREATEROLE`);
  await db.query(`GRANT CONNECT ON DATABASE "${o.database.replace(/"/g, '""')}" TO "${o.role}"`);
  await db.query(`GRANT USAGE ON SCHEMA public TO "${o.role}"`);
  await db.query(`GRANT SELECT ON console_token_targets TO "${o.role}"`);
}
