import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureAdmin, publicNetworkDefaults, seedFlavors, seedPublicNetwork, type BootstrapResult } from '@aster/api';
import { createPool, migrate, type MigrateResult } from '@aster/db';
import { CONDUCTOR_QUEUE, grantQueueRole, Jobs, SCHEDULER_QUEUE } from '@aster/jobs';
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
 * image aster-tiny, installs
 * the job queues, and with `computeRole` (Aster's own Postgres) gives compute hosts a role of their own that
 * reaches the queues and nothing else; its URL is answered as `computeUrl` (else the same URL).
 */
export async function prepareDatabase(
  url: string,
  adminPassword: string | undefined,
  options: {
    computeRole?: { passwordFile: string };
    guestImage?: { imageDir: string; built: GuestImage };
    /** Another address pool on libvirt's network (a throwaway stack beside a running Aster on one machine). */
    publicPool?: { allocationStart: string; allocationEnd: string };
  } = {},
): Promise<{ migrations: MigrateResult; admin: BootstrapResult; computeUrl: string }> {
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
      for (const queue of [SCHEDULER_QUEUE, CONDUCTOR_QUEUE]) await jobs.ensureQueue(queue, { retryLimit: 5, expireInSeconds: 300 });
    } finally {
      await jobs.stop(1000);
    }
    if (!options.computeRole) return { migrations, admin, computeUrl: url };
    const file = options.computeRole.passwordFile;
    if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
    const password = readFileSync(file, 'utf8').trim();
    const u = new URL(url);
    await grantQueueRole(pool, { role: COMPUTE_ROLE, password, database: decodeURIComponent(u.pathname.slice(1)) });
    u.username = COMPUTE_ROLE;
    u.password = password;
    return { migrations, admin, computeUrl: u.toString() };
  } finally {
    await pool.end();
  }
}

/** The database role of compute hosts on Aster's own Postgres. */
export const COMPUTE_ROLE = 'aster_compute';
