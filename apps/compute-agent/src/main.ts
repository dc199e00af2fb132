import { join } from 'node:path';
import { ComputeAgent, MetadataNamespaces, MetadataProxy, MetadataRoutes } from '@aster/agent';
import { Jobs } from '@aster/jobs';
import { createLogger } from '@aster/log';
import { FakeDriver, type Driver } from '@aster/virt';
import { LibvirtDriver } from '@aster/virt/libvirt';
import { env } from './env.ts';

/**
 * The compute agent of one host (nova-compute). It talks to the rest of Aster only through its job queues
 * and the image endpoint; guests reach the metadata service through its metadata proxy.
 */
const host = env.ASTER_COMPUTE_HOST;
const log = createLogger('compute-agent', { level: env.ASTER_LOG_LEVEL }, { host });

let driver: Driver;
let libvirt: LibvirtDriver | null = null;
// One DNAT rule per guest address, to this agent's metadata proxy: agents sharing a bridge each route their own.
const routes = env.ASTER_METADATA_SECRET ? new MetadataRoutes(log) : null;
// Guests on project networks reach the proxy through a namespace per network holding its metadata port.
const metadataSocket = join(env.ASTER_COMPUTE_STATE_DIR, 'metadata.sock');
const namespaces =
  env.ASTER_METADATA_SECRET && env.ASTER_DRIVER === 'libvirt'
    ? new MetadataNamespaces({ bridge: env.ASTER_OVS_BRIDGE, socketPath: metadataSocket, owner: host, ...(env.ASTER_OVS_DB ? { ovsDb: env.ASTER_OVS_DB } : {}), log })
    : null;
if (env.ASTER_DRIVER === 'libvirt') {
  driver = libvirt = new LibvirtDriver({
    host,
    uri: env.ASTER_LIBVIRT_URI,
    stateDir: env.ASTER_COMPUTE_STATE_DIR,
    apiUrl: env.ASTER_API_URL,
    consoleHost: env.ASTER_CONSOLE_HOST,
    network: env.ASTER_LIBVIRT_NETWORK,
    domainType: env.ASTER_DOMAIN_TYPE,
    kvmProbeImage: env.ASTER_KVM_PROBE_IMAGE ?? null,
    serialPortRange: env.ASTER_SERIAL_PORT_RANGE,
    reservedRamMb: env.ASTER_RESERVED_RAM_MB,
    ovsBridge: env.ASTER_OVS_BRIDGE,
    ovsDatapath: env.ASTER_OVS_DATAPATH,
    ...(env.ASTER_OVS_DB ? { ovsDb: env.ASTER_OVS_DB } : {}),
    ...(routes ? { guestAddresses: routes } : {}),
    ...(namespaces ? { projectPorts: namespaces } : {}),
    log,
  });
} else {
  driver = new FakeDriver({
    vcpus: env.ASTER_FAKE_VCPUS,
    ramMb: env.ASTER_FAKE_RAM_MB,
    diskGb: env.ASTER_FAKE_DISK_GB,
    ...(env.ASTER_FAKE_FAIL_SPAWN ? { failSpawn: true } : {}),
    ...(env.ASTER_FAKE_SPAWN_DELAY_MS ? { spawnDelayMs: env.ASTER_FAKE_SPAWN_DELAY_MS } : {}),
  });
}

// The API installs pg-boss's schema; a host's role only uses it.
const jobs = await Jobs.start({ connectionString: env.DATABASE_URL, log, applicationName: `aster-compute-${host}`, max: 3, migrate: false, versionCaps: env.ASTER_JOB_VERSION_CAPS });
const agent = new ComputeAgent({
  host,
  jobs,
  driver,
  log,
  heartbeatSeconds: env.ASTER_HEARTBEAT_SECONDS,
  powerSyncSeconds: env.ASTER_POWER_SYNC_SECONDS,
  shutdownTimeoutSeconds: env.ASTER_SHUTDOWN_TIMEOUT_SECONDS,
  apiUrl: env.ASTER_API_URL,
});
await agent.start();

// Guests ask 169.254.169.254; a DNAT on the instances' bridge brings them to this proxy, which knows them by address.
let proxy: MetadataProxy | null = null;
if (libvirt) {
  const net = libvirt.networkFacts();
  if (!env.ASTER_METADATA_SECRET || !routes) {
    log.warn('metadata proxy not started: set ASTER_METADATA_SECRET to the secret the API metadata listener uses; guests fall back to their config drive');
  } else {
    const found = libvirt;
    proxy = new MetadataProxy({
      listenHost: net.address,
      listenPort: 0,
      metadataUrl: env.ASTER_METADATA_URL,
      secret: env.ASTER_METADATA_SECRET,
      lookup: (ip, networkId) => found.instanceByIp(ip, networkId),
      socketPath: metadataSocket,
      log,
    });
    const { port } = await proxy.start();
    await routes.start(net.bridge, `${net.address}:${port}`);
    log.info('metadata proxy ready', { listen: `${net.address}:${port}`, bridge: net.bridge, socket: metadataSocket, upstream: env.ASTER_METADATA_URL });
  }
}
log.info('ready', { driver: driver.name, queue: `compute.${host}` });

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info('stopping', { signal });
  void (async () => {
    await routes?.stop();
    await namespaces?.stop();
    await proxy?.stop();
    await agent.stop();
    await jobs.stop(5000);
  })().finally(() => process.exit(0));
};
process.once('SIGINT', () => stop('SIGINT'));
process.once('SIGTERM', () => stop('SIGTERM'));
// Started by the launcher with an IPC channel: its closing means the launcher is gone.
process.once('disconnect', () => stop('launcher gone'));
process.channel?.unref(); // the channel alone must not keep the process alive
