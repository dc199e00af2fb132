import { createServer } from 'node:http';
import { defaultApiConfig, pruneIdentity } from '@aster/api';
import { createPool, migrate } from '@aster/db';
import { createLogger } from '@aster/log';
import { env } from './env.ts';
import { createApiHandler } from './http.ts';

const log = createLogger('api', { level: env.ASTER_LOG_LEVEL });
const db = createPool({ connectionString: env.DATABASE_URL, applicationName: 'aster-api', max: 20 });

// Migrations are idempotent and locked, so an API started on its own against an older database catches up.
const result = await migrate(db);
if (result.applied.length) log.info('migrations applied', { applied: result.applied });

const config = {
  ...defaultApiConfig,
  tokenTtlSeconds: env.ASTER_TOKEN_TTL,
  loginMaxFailures: env.ASTER_LOGIN_MAX_FAILURES,
  loginLockSeconds: env.ASTER_LOGIN_LOCK_SECONDS,
};
const server = createServer(createApiHandler({ db, log, config }));
server.keepAliveTimeout = 65_000;
server.listen(env.ASTER_API_PORT, env.ASTER_HOST, () => {
  log.info('ready', { url: `http://${env.ASTER_HOST}:${env.ASTER_API_PORT}`, trpc: '/trpc', health: '/healthz' });
});
server.on('error', (error) => {
  log.error('cannot listen', { port: env.ASTER_API_PORT, error });
  process.exit(1);
});

// Expired and revoked tokens and stale throttle rows are deleted hourly (and once at start).
const prune = () =>
  pruneIdentity(db, new Date(), config).then(
    (removed) => (removed.tokens || removed.throttle) && log.info('pruned identity rows', removed),
    (error: unknown) => log.warn('pruning identity rows failed', { error }),
  );
void prune();
const pruner = setInterval(() => void prune(), 3600_000);
pruner.unref();

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  clearInterval(pruner);
  log.info('stopping', { signal });
  server.close(() => {
    void db.end().then(() => process.exit(0));
  });
  server.closeIdleConnections();
  setTimeout(() => {
    server.closeAllConnections();
  }, 5000).unref();
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
// Started by the launcher with an IPC channel: its closing means the launcher is gone.
process.once('disconnect', () => stop('launcher gone'));
process.channel?.unref(); // the channel alone must not keep the process alive
