import { createPool, migrate, MigrationError } from '@aster/db';
import { openDatabase } from './database.ts';
import { serverUrl } from './postgres.ts';
import { runningLauncher } from './runfile.ts';
import { readLauncherEnv } from './env.ts';
import { dataDir } from './paths.ts';

/** `npm run migrate`: applies pending migrations to DATABASE_URL, or to Aster's own Postgres (started for the purpose). */
export async function migrateCommand(): Promise<number> {
  const settings = readLauncherEnv();
  const dir = dataDir(settings.ASTER_DATA_DIR);
  // While Aster runs, its Postgres is already up: use it rather than starting another.
  const db =
    !settings.DATABASE_URL && runningLauncher(dir)
      ? { url: `${serverUrl(dir, settings.ASTER_PG_PORT)}/aster`, local: null }
      : await openDatabase(settings, dir);
  try {
    const pool = createPool({ connectionString: db.url, max: 1, applicationName: 'aster-migrate' });
    const migrations = await migrate(pool).finally(() => pool.end());
    process.stdout.write(
      migrations.applied.length
        ? `Applied ${migrations.applied.join(', ')}; the schema is at version ${migrations.current}.\n`
        : `Nothing to apply; the schema is at version ${migrations.current}.\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof MigrationError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await db.local?.stop();
  }
}
