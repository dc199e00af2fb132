import { createServer, type Server } from 'node:http';
import {
  defaultApiConfig,
  defaultSchedulerConfig,
  InstanceChanges,
  pruneConsoleTokens,
  pruneIdentity,
  startConductor,
  startMetadataServer,
  startNetworkWorker,
  startScheduler,
  checkSchedulerConfig,
  type NetworkWorker,
  type MetadataServer,
  type SchedulerConfig,
  type ServiceBinary,
} from '@aster/api';
import { Jobs } from '@aster/jobs';
import { createPool, migrate } from '@aster/db';
import { createLogger } from '@aster/log';
import { env, imageDir } from './env.ts';
import { createApiHandler } from './http.ts';
import { startPresence } from './presence.ts';

/**
 * The API process. It runs the roles named by ASTER_ROLES (all by default): `api` serves tRPC and /healthz;
 * `scheduler` and `conductor` register as services and heartbeat, and take their queues' work as the compute
 * service defines it.
 */
const roles = env.ASTER_ROLES;
const log = createLogger('api', { level: env.ASTER_LOG_LEVEL }, { roles });
const db = createPool({ connectionString: env.DATABASE_URL, applicationName: 'aster-api', max: 30 });
// The scheduler's and conductor's transactions commit without waiting for the disk. Each is the work of a job
// whose completion commits after it, so a crash of Postgres that loses one loses that completion too and the job
// runs again. Waiting would also hold Postgres's commit lock for notifications (every instance change notifies
// watchers) across a disk flush, one transaction after another.
const workerDb = roles.some((r) => r !== 'api')
  ? createPool({ connectionString: env.DATABASE_URL, applicationName: 'aster-workers', max: 30, synchronousCommit: false })
  : null;

// Migrations are idempotent and locked, so an API started on its own against an older database catches up.
const result = await migrate(db);
if (result.applied.length) log.info('migrations applied', { applied: result.applied });

const config = {
  ...defaultApiConfig,
  tokenTtlSeconds: env.ASTER_TOKEN_TTL,
  loginMaxFailures: env.ASTER_LOGIN_MAX_FAILURES,
  loginLockSeconds: env.ASTER_LOGIN_LOCK_SECONDS,
  serviceDownSeconds: env.ASTER_SERVICE_DOWN_SECONDS,
  imageDir,
  consoleTokenTtlSeconds: env.ASTER_CONSOLE_TOKEN_TTL,
  proxyUrl: env.ASTER_PROXY_URL,
  webUrl: env.ASTER_WEB_URL,
  defaultAvailabilityZone: env.ASTER_DEFAULT_AVAILABILITY_ZONE,
  ovnNbDb: env.ASTER_OVN_NB_DB,
  ovnSbDb: env.ASTER_OVN_SB_DB,
  ...(env.ASTER_SERVICE_SECRET ? { serviceSecret: env.ASTER_SERVICE_SECRET } : {}),
};
// Image URLs signed by one API process must verify in every other: a secret of its own works only alone.
if (!env.ASTER_SERVICE_SECRET) {
  log.warn('ASTER_SERVICE_SECRET is not set: signing image URLs with a random secret of this process; set the same one on every API process if there are several');
}

const schedulerConfig: SchedulerConfig = {
  ...defaultSchedulerConfig,
  maxAttempts: env.ASTER_SCHEDULER_MAX_ATTEMPTS,
  serviceDownSeconds: env.ASTER_SERVICE_DOWN_SECONDS,
  defaultAvailabilityZone: env.ASTER_DEFAULT_AVAILABILITY_ZONE,
  filters: env.ASTER_SCHEDULER_FILTERS ?? defaultSchedulerConfig.filters,
  maxInstancesPerHost: env.ASTER_SCHEDULER_MAX_INSTANCES_PER_HOST,
  weights: {
    ram: env.ASTER_SCHEDULER_RAM_WEIGHT_MULTIPLIER,
    cpu: env.ASTER_SCHEDULER_CPU_WEIGHT_MULTIPLIER,
    disk: env.ASTER_SCHEDULER_DISK_WEIGHT_MULTIPLIER,
    numInstances: env.ASTER_SCHEDULER_NUM_INSTANCES_WEIGHT_MULTIPLIER,
    softAffinity: env.ASTER_SCHEDULER_SOFT_AFFINITY_WEIGHT_MULTIPLIER,
    softAntiAffinity: env.ASTER_SCHEDULER_SOFT_ANTI_AFFINITY_WEIGHT_MULTIPLIER,
    buildFailure: env.ASTER_SCHEDULER_BUILD_FAILURE_WEIGHT_MULTIPLIER,
  },
  hostSubsetSize: env.ASTER_SCHEDULER_HOST_SUBSET_SIZE,
  hostStateTtlMs: env.ASTER_SCHEDULER_HOST_STATE_TTL_MS,
  concurrentDecisions: env.ASTER_SCHEDULER_CONCURRENT_DECISIONS,
  serviceSecret: config.serviceSecret,
};
// An unknown filter name stops the process here, naming the setting, rather than at the first build.
try {
  checkSchedulerConfig(schedulerConfig);
} catch (error) {
  log.error(`ASTER_SCHEDULER_FILTERS: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const presence = await startPresence({
  db,
  log,
  host: env.ASTER_SERVICE_HOST,
  binaries: roles.map((r) => `aster-${r}` as ServiceBinary),
  everySeconds: env.ASTER_HEARTBEAT_SECONDS,
});

// Every role sends or works jobs; pg-boss's own maintenance (expiring jobs whose worker died) runs here too.
const jobs = await Jobs.start({ connectionString: env.DATABASE_URL, log, applicationName: 'aster-api-jobs', supervise: true, max: 10, versionCaps: env.ASTER_JOB_VERSION_CAPS });
if (roles.includes('scheduler')) {
  await startScheduler({
    db: workerDb ?? db,
    jobs,
    log: log.child({ role: 'scheduler' }),
    connectionString: env.DATABASE_URL,
    config: schedulerConfig,
  });
}
// The conductor also makes sure the cloud's sweep (one job on its queue, whichever conductor takes it) is due.
if (roles.includes('conductor')) {
  await startConductor({
    db: workerDb ?? db,
    jobs,
    log: log.child({ role: 'conductor' }),
    config: {
      ratios: { cpu: env.ASTER_CPU_ALLOCATION_RATIO, ram: env.ASTER_RAM_ALLOCATION_RATIO, disk: env.ASTER_DISK_ALLOCATION_RATIO },
      buildTimeoutSeconds: env.ASTER_BUILD_TIMEOUT_SECONDS,
      serviceDownSeconds: env.ASTER_SERVICE_DOWN_SECONDS,
      sweepSeconds: 10,
      serviceSecret: config.serviceSecret,
    },
  });
}
// The network role is OVN's only writer: without OVN's databases it cannot work, and says so.
let network: NetworkWorker | null = null;
if (roles.includes('network')) {
  try {
    network = await startNetworkWorker({
      db: workerDb ?? db,
      jobs,
      log: log.child({ role: 'network' }),
      config: { nbDb: env.ASTER_OVN_NB_DB, sbDb: env.ASTER_OVN_SB_DB, syncSeconds: env.ASTER_OVN_SYNC_SECONDS, syncMode: env.ASTER_OVN_SYNC_MODE },
    });
  } catch (error) {
    log.error(error instanceof Error ? error.message : String(error));
    await presence.stop().finally(() => process.exit(1));
  }
}
const changes = roles.includes('api') ? new InstanceChanges({ connectionString: env.DATABASE_URL, log, db }) : null;
await changes?.start();

let server: Server | undefined;
if (roles.includes('api')) {
  const http = createServer(createApiHandler({ db, log, config, jobs, changes }));
  server = http;
  http.keepAliveTimeout = 65_000;
  http.on('error', (error) => {
    log.error('cannot listen', { port: env.ASTER_API_PORT, error });
    void presence.stop().finally(() => process.exit(1));
  });
  http.listen(env.ASTER_API_PORT, env.ASTER_HOST, () => {
    log.info('ready', { url: `http://${env.ASTER_HOST}:${env.ASTER_API_PORT}`, trpc: '/trpc', health: '/healthz' });
  });
} else {
  log.info('ready', {});
}

// The guests' metadata listener runs with the api role. Without the secret the hosts' proxies sign with, no
// proxy could reach it (and a made-up one would only hide that), so it is left off with a warning.
let metadata: MetadataServer | null = null;
const metadataSecret = env.ASTER_METADATA_SECRET;
if (roles.includes('api') && !metadataSecret) {
  log.warn('metadata listener not started: set ASTER_METADATA_SECRET to the secret shared with the compute hosts', { port: env.ASTER_METADATA_PORT });
} else if (roles.includes('api') && metadataSecret) {
  const where = { host: env.ASTER_METADATA_HOST, port: env.ASTER_METADATA_PORT };
  try {
    metadata = await startMetadataServer({
      db,
      secret: metadataSecret,
      log: log.child({ listener: 'metadata' }),
      defaultAvailabilityZone: env.ASTER_DEFAULT_AVAILABILITY_ZONE,
      ...where,
    });
    log.info('metadata listener ready', { url: `http://${where.host}:${metadata.port}` });
  } catch (error) {
    log.error('cannot listen for metadata', { ...where, error });
    await presence.stop().finally(() => process.exit(1));
  }
}

// Expired and revoked tokens (login and console) and stale throttle rows are deleted hourly (and once at start).
const prune = () =>
  Promise.all([pruneIdentity(db, new Date(), config), pruneConsoleTokens(db)]).then(
    ([removed, consoleTokens]) => (removed.tokens || removed.throttle || consoleTokens) && log.info('pruned expired rows', { ...removed, consoleTokens }),
    (error: unknown) => log.warn('pruning expired rows failed', { error }),
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
  const finish = () =>
    void presence
      .stop()
      .then(() => Promise.all([jobs.stop(5000), changes?.stop(), metadata?.close(), network?.stop()]))
      .then(() => Promise.all([db.end(), workerDb?.end()]))
      .then(() => process.exit(0));
  if (!server) return finish();
  server.close(finish);
  server.closeIdleConnections();
  setTimeout(() => server?.closeAllConnections(), 5000).unref();
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
// Started by the launcher with an IPC channel: its closing means the launcher is gone.
process.once('disconnect', () => stop('launcher gone'));
process.channel?.unref(); // the channel alone must not keep the process alive
