import { Jobs } from '@aster/jobs';
import { createLogger } from '@aster/log';
import { FakeDriver } from '@aster/virt';
import { ComputeAgent } from './agent.ts';
import { env } from './env.ts';

/**
 * The compute agent of one host (nova-compute). It talks to the rest of Aster only through its job queues
 * and the image endpoint.
 */
const host = env.ASTER_COMPUTE_HOST;
const log = createLogger('compute-agent', { level: env.ASTER_LOG_LEVEL }, { host });

const driver = new FakeDriver({
  vcpus: env.ASTER_FAKE_VCPUS,
  ramMb: env.ASTER_FAKE_RAM_MB,
  diskGb: env.ASTER_FAKE_DISK_GB,
  ...(env.ASTER_FAKE_FAIL_SPAWN ? { failSpawn: true } : {}),
  ...(env.ASTER_FAKE_SPAWN_DELAY_MS ? { spawnDelayMs: env.ASTER_FAKE_SPAWN_DELAY_MS } : {}),
});

// The API installs pg-boss's schema; a host's role only uses it.
const jobs = await Jobs.start({ connectionString: env.DATABASE_URL, log, applicationName: `aster-compute-${host}`, max: 3, migrate: false });
const agent = new ComputeAgent({
  host,
  jobs,
  driver,
  log,
  heartbeatSeconds: env.ASTER_HEARTBEAT_SECONDS,
  powerSyncSeconds: env.ASTER_POWER_SYNC_SECONDS,
});
await agent.start();
log.info('ready', { driver: driver.name, queue: `compute.${host}` });

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info('stopping', { signal });
  void agent
    .stop()
    .then(() => jobs.stop(5000))
    .finally(() => process.exit(0));
};
process.once('SIGINT', () => stop('SIGINT'));
process.once('SIGTERM', () => stop('SIGTERM'));
// Started by the launcher with an IPC channel: its closing means the launcher is gone.
process.once('disconnect', () => stop('launcher gone'));
process.channel?.unref(); // the channel alone must not keep the process alive
