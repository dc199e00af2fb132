import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEnv, z } from '@aster/env';
import { COMPUTE_ROLE } from './database.ts';
import { computeStateDir } from './hypervisor.ts';
import { detectDatapath } from './ovn.ts';
import { serverUrl } from './postgres.ts';
import { runningLauncher } from './runfile.ts';
import { inheritedEnv, readLauncherEnv } from './env.ts';
import { dataDir, root } from './paths.ts';
import { reachable } from './stack.ts';

/**
 * `npm run agent`: one more compute agent, in the foreground, joined to the running Aster (or to DATABASE_URL).
 * It needs its own ASTER_COMPUTE_HOST: two agents under one name would share a queue and a placement provider.
 */
export async function agentCommand(): Promise<number> {
  const settings = readLauncherEnv();
  const own = readEnv(z.object({ ASTER_COMPUTE_HOST: z.string().optional() }), inheritedEnv());
  const dir = dataDir(settings.ASTER_DATA_DIR);
  if (!own.ASTER_COMPUTE_HOST || own.ASTER_COMPUTE_HOST === hostname()) {
    process.stderr.write(
      `Set ASTER_COMPUTE_HOST to name this agent (the agent started by npm start is ${hostname()}), e.g.\n` +
        `  ASTER_COMPUTE_HOST=compute-2 npm run agent\n`,
    );
    return 2;
  }
  let url = settings.DATABASE_URL;
  if (!url) {
    if (!runningLauncher(dir)) {
      process.stderr.write(`Aster is not running from ${dir}: start it with npm start first, or set DATABASE_URL.\n`);
      return 1;
    }
    url = `${serverUrl(dir, settings.ASTER_PG_PORT)}/aster`;
    // The role compute hosts use on Aster's own Postgres: the job queues and nothing else.
    const computePassword = join(dir, 'compute.password');
    if (existsSync(computePassword)) {
      const u = new URL(url);
      u.username = COMPUTE_ROLE;
      u.password = readFileSync(computePassword, 'utf8').trim();
      url = u.toString();
    }
  }
  // The running Aster's metadata secret, so this host's guests reach the metadata service too.
  const secretFile = join(dir, 'metadata.secret');
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'apps/compute-agent/src/main.ts')], {
    cwd: join(root, 'apps/compute-agent'),
    stdio: 'inherit',
    env: {
      ASTER_COMPUTE_STATE_DIR: computeStateDir(dir),
      ...(existsSync(secretFile) ? { ASTER_METADATA_SECRET: readFileSync(secretFile, 'utf8').trim() } : {}),
      ASTER_METADATA_URL: `http://127.0.0.1:${settings.ASTER_METADATA_PORT}`,
      ASTER_OVS_DATAPATH: detectDatapath(),
      ...inheritedEnv(),
      DATABASE_URL: url,
      ASTER_API_URL: `http://${reachable(settings.ASTER_HOST)}:${settings.ASTER_API_PORT}`,
    },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 0 : 1))));
}
