import { join } from 'node:path';
import { openDatabase, prepareDatabase } from './database.ts';
import { inheritedEnv, readLauncherEnv } from './env.ts';
import { networkingEnv, prepareComputeHost, secretIn } from './hypervisor.ts';
import { dataDir, publicHost, root } from './paths.ts';
import { claimDataDir } from './runfile.ts';
import { build, startStack, type Stack } from './stack.ts';

const say = (line: string) => process.stdout.write(line + '\n');

/** `npm start`: build if needed, Postgres, migrations, every process; one block of URLs; a clean stop on Ctrl-C. */
export async function start(): Promise<number> {
  const settings = readLauncherEnv();
  const dir = dataDir(settings.ASTER_DATA_DIR);
  const env = inheritedEnv();
  const run = await claimDataDir(dir, say);
  process.stdout.write('Building (only what changed)… ');
  const began = Date.now();
  try {
    await build(root, env);
  } catch (error) {
    run.release();
    say(`\nStart stopped: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  say(`done in ${((Date.now() - began) / 1000).toFixed(1)} s`);

  const db = await openDatabase(settings, dir, run.add);
  let stack: Stack | undefined;
  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= (async () => {
      say('\nStopping Aster…');
      await stack?.stop();
      await db.local?.stop();
      run.release();
      say('Stopped.');
    })());

  const signalled = new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => resolve());
  });

  // The generated admin password is shown once; if the start fails after creating it, the failure shows it.
  let created: string | undefined;
  try {
    const compute = await prepareComputeHost(dir, env, say);
    const { migrations, admin, computeUrl, proxyUrl } = await prepareDatabase(db.url, settings.ASTER_ADMIN_PASSWORD, {
      ...(db.local ? { roles: { dir } } : {}),
      guestImage: { imageDir: join(dir, 'images'), built: compute.guest },
    });
    created = admin.generatedPassword;
    if (migrations.applied.length) say(`Database: applied ${migrations.applied.join(', ')}`);
    const host = settings.ASTER_HOST;
    const ports = { api: settings.ASTER_API_PORT, proxy: settings.ASTER_PROXY_PORT, web: settings.ASTER_WEB_PORT, metadata: settings.ASTER_METADATA_PORT };
    stack = await startStack(
      {
        root,
        databaseUrl: db.url,
        computeDatabaseUrl: computeUrl,
        proxyDatabaseUrl: proxyUrl,
        host,
        ports,
        logDir: join(dir, 'logs'),
        logLevel: settings.ASTER_LOG_LEVEL,
        env,
        secrets: { metadata: secretIn(join(dir, 'metadata.secret')), service: secretIn(join(dir, 'service.secret')) },
        compute: { stateDir: compute.stateDir, probeImage: compute.guest.path },
        networking: networkingEnv(compute.networking),
        onSpawn: run.add,
      },
      say,
    );
    const h = publicHost(host);
    const lines = [
      '',
      'Aster is running.',
      `  Console   http://${h}:${ports.web}`,
      `  API       http://${h}:${ports.api}/trpc   (health: http://${h}:${ports.api}/healthz)`,
      `  Proxy     ws://${h}:${ports.proxy}`,
      `  Database  ${db.local ? `Aster's own Postgres in ${join(dir, 'postgres')} (port ${settings.ASTER_PG_PORT})` : 'DATABASE_URL'}`,
      `  Logs      ${join(dir, 'logs')}`,
    ];
    if (admin.created) {
      lines.push(
        admin.generatedPassword
          ? `  Sign in   user admin, password ${admin.generatedPassword}   (shown this once: keep it)`
          : '  Sign in   user admin, with the password from ASTER_ADMIN_PASSWORD',
      );
    }
    lines.push('Press Ctrl-C to stop.', '');
    say(lines.join('\n'));

    const outcome = await Promise.race([signalled.then(() => null), stack.crashed]);
    if (outcome) say(`\n${outcome}`);
    await shutdown();
    return outcome ? 1 : 0;
  } catch (error) {
    // What stops a start (a failed migration, a service that could not come up) is said in one line.
    say(`\nStart stopped: ${error instanceof Error ? error.message : String(error)}`);
    if (created) say(`The admin user was created meanwhile: user admin, password ${created}   (shown this once: keep it)`);
    await shutdown();
    return 1;
  }
}
