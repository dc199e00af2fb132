import { ComputeAgent } from '@aster/agent';
import { parseEnv, postgresUrl, z } from '@aster/env';
import { Jobs } from '@aster/jobs';
import { createLogger } from '@aster/log';
import { FakeDriver } from '@aster/virt';
import { hostName, hostSize } from './fleet.ts';

/**
 * A process of `bench:scheduler`'s fleet: hundreds of FakeDriver hosts sharing one `Jobs` (one pool, one
 * LISTEN connection), since a thousand hosts with their own would take more connections than Postgres has.
 */
const whole = (min: number) => z.coerce.number().int('must be a whole number').min(min, `must be at least ${min}`);
const env = parseEnv(
  z.object({
    DATABASE_URL: postgresUrl,
    ASTER_FLEET_FIRST: whole(0),
    ASTER_FLEET_COUNT: whole(1),
    ASTER_FLEET_HEARTBEAT_SECONDS: whole(1),
    ASTER_FLEET_POWER_SYNC_SECONDS: whole(1),
    ASTER_FLEET_POLL_SECONDS: whole(1),
    ASTER_FLEET_POOL_MAX: whole(2),
  }),
);

const first = env.ASTER_FLEET_FIRST;
const log = createLogger('bench-fleet', { level: 'info' }, { first, count: env.ASTER_FLEET_COUNT });
// A build per host logs a line; across thousands of builds only trouble is worth the pipe.
const quiet = createLogger('bench-fleet', { level: 'warn' });
const jobs = await Jobs.start({
  connectionString: env.DATABASE_URL,
  log: quiet,
  applicationName: `aster-bench-fleet-${first}`,
  max: env.ASTER_FLEET_POOL_MAX,
  migrate: false,
});
const agents: ComputeAgent[] = [];
const started = performance.now();
for (let i = first; i < first + env.ASTER_FLEET_COUNT; i++) {
  const agent = new ComputeAgent({
    host: hostName(i),
    jobs,
    driver: new FakeDriver(hostSize(i)),
    log: quiet,
    heartbeatSeconds: env.ASTER_FLEET_HEARTBEAT_SECONDS,
    powerSyncSeconds: env.ASTER_FLEET_POWER_SYNC_SECONDS,
    pollSeconds: env.ASTER_FLEET_POLL_SECONDS,
  });
  // One after another: the hosts' heartbeats then spread over the start instead of landing at once.
  await agent.start();
  agents.push(agent);
}
log.info('ready', { hosts: agents.length, startMs: Math.round(performance.now() - started) });

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void (async () => {
    await Promise.all(agents.map((a) => a.stop().catch(() => {})));
    await jobs.stop(2000);
  })().finally(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
// Started with an IPC channel: its closing means the benchmark is gone.
process.once('disconnect', stop);
process.channel?.unref();
