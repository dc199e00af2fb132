import { join } from 'node:path';
import { root } from '../paths.ts';
import type { ServiceSpec } from '../services.ts';

/**
 * The fake hosts of `bench:scheduler`: four sizes, alternating, and two availability zones, alternating
 * with a different period so every size is in both zones. Pure, so that the benchmark and the fleet
 * processes agree on every host without telling each other.
 */
export const hostSizes = [
  { vcpus: 4, ramMb: 16_384, diskGb: 160 },
  { vcpus: 8, ramMb: 32_768, diskGb: 320 },
  { vcpus: 16, ramMb: 65_536, diskGb: 640 },
  { vcpus: 32, ramMb: 131_072, diskGb: 1280 },
] as const;

export const hostName = (i: number) => `fleet-${String(i).padStart(4, '0')}`;
export const hostSize = (i: number) => hostSizes[i % hostSizes.length]!;
/** Hosts 0-3 are az1, 4-7 az2, 8-11 az1 …: sizes repeat every 4, so each zone holds every size alike. */
export const hostZone = (i: number): 'az1' | 'az2' => (Math.floor(i / 4) % 2 === 0 ? 'az1' : 'az2');

export interface FleetSettings {
  /** The compute hosts' database URL (their role reaches pg-boss's schema only). */
  databaseUrl: string;
  first: number;
  count: number;
  heartbeatSeconds: number;
  powerSyncSeconds: number;
  /** Each host queue's fallback poll; with hundreds of queues in one process every poll is a query. */
  pollSeconds: number;
  /** The pool shared by every host of the process. */
  poolMax: number;
}

/** One fleet process: `count` hosts from `first`, on one shared job connection pool. */
export function fleetSpec(name: string, logFile: string, settings: FleetSettings, env: Record<string, string>): ServiceSpec {
  return {
    name,
    cwd: root,
    command: process.execPath,
    args: ['--import', 'tsx', join(root, 'packages/stack/src/bench/fleet-main.ts')],
    env: {
      ...env,
      DATABASE_URL: settings.databaseUrl,
      ASTER_FLEET_FIRST: String(settings.first),
      ASTER_FLEET_COUNT: String(settings.count),
      ASTER_FLEET_HEARTBEAT_SECONDS: String(settings.heartbeatSeconds),
      ASTER_FLEET_POWER_SYNC_SECONDS: String(settings.powerSyncSeconds),
      ASTER_FLEET_POLL_SECONDS: String(settings.pollSeconds),
      ASTER_FLEET_POOL_MAX: String(settings.poolMax),
    },
    logFile,
    ready: { log: true },
  };
}
