import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureAdmin, publicNetworkDefaults, seedFlavors, seedPublicNetwork, type BootstrapResult } from '@aster/api';
import { createPool, migrate, type MigrateResult } from '@aster/db';
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

/** Applies migrations and creates the admin project and user on the first start. */
export async function prepareDatabase(
  url: string,
  adminPassword: string | undefined,
): Promise<{ migrations: MigrateResult; admin: BootstrapResult }> {
  const pool = createPool({ connectionString: url, max: 2, applicationName: 'aster-launcher' });
  try {
    const migrations = await migrate(pool);
    const admin = await ensureAdmin(pool, { password: adminPassword });
    // The first start's flavors (m1.tiny … m1.large) and the shared network `public` on libvirt's NAT network.
    await seedFlavors(pool);
    await seedPublicNetwork(pool, publicNetworkDefaults);
    return { migrations, admin };
  } finally {
    await pool.end();
  }
}
