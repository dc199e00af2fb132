import { hostname } from 'node:os';
import { versionCapsSetting } from '@aster/jobs';
import { join, resolve } from 'node:path';
import { logLevel, parseEnv, port, postgresUrl, z } from '@aster/env';

const positiveInt = (fallback: number, what: string) =>
  z.coerce.number({ error: `must be a number of ${what}` }).int(`must be a whole number of ${what}`).min(1, `must be at least 1 ${what}`).default(fallback);

export const roleNames = ['api', 'scheduler', 'conductor', 'network'] as const;
export type RoleName = (typeof roleNames)[number];

const rolesList = z
  .string()
  .transform((v) => [...new Set(v.split(',').map((r) => r.trim()).filter(Boolean))])
  .pipe(
    z
      .array(z.enum(roleNames, { error: `each role must be one of ${roleNames.join(', ')}` }))
      .min(1, `name at least one of ${roleNames.join(', ')}`),
  );

const publicUrl = (schemes: string[], what: string) =>
  z
    .string()
    .refine((v) => URL.canParse(v) && schemes.includes(new URL(v).protocol), `must be a ${schemes.join(' or ')} URL: ${what}`)
    .transform((v) => v.replace(/\/+$/, ''));

const ratio = (fallback: number) =>
  z.coerce.number({ error: 'must be a number, like 4.0' }).positive('must be greater than 0').max(1000, 'must be at most 1000').default(fallback);

const multiplier = (fallback: number) =>
  z.coerce.number({ error: 'must be a number, like 1.0 or -1.0' }).refine(Number.isFinite, 'must be a finite number').default(fallback);

const ovsdbRemote = z.string().regex(/^(unix:\/.+|tcp:[^:]+:\d+|ssl:[^:]+:\d+)$/, 'must be an OVSDB remote: unix:/path/to.sock or tcp:host:port');

/** The API process's settings; nothing else in apps/api reads the environment. */
export const env = parseEnv(
  z.object({
    DATABASE_URL: postgresUrl,
    ASTER_HOST: z.string().default('127.0.0.1'),
    ASTER_API_PORT: port(8774),
    /** The metadata listener for guests, reached through each host's metadata proxy (same host by default). */
    ASTER_METADATA_HOST: z.string().default('127.0.0.1'),
    ASTER_METADATA_PORT: port(8775),
    /** Shared with the compute hosts' metadata proxies, which sign with it; unset, the listener does not start. */
    ASTER_METADATA_SECRET: z.string().min(16, 'must be at least 16 characters, a random string shared with the compute hosts').optional(),
    /** Signs the image URLs handed to compute hosts; every API process of a cloud needs the same. Unset: random per process. */
    ASTER_SERVICE_SECRET: z.string().min(32, 'must be at least 32 characters, a random string shared by every API process').optional(),
    /** Which roles this process runs; all of them by default, one process per role to scale them apart. */
    ASTER_ROLES: rolesList.default([...roleNames]),
    /** The name this process's services register under. */
    ASTER_SERVICE_HOST: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/, 'must be a host name').default(hostname()),
    ASTER_HEARTBEAT_SECONDS: positiveInt(10, 'seconds'),
    ASTER_SERVICE_DOWN_SECONDS: positiveInt(60, 'seconds'),
    ASTER_TOKEN_TTL: positiveInt(12 * 3600, 'seconds'),
    ASTER_LOGIN_MAX_FAILURES: positiveInt(5, 'failures'),
    ASTER_LOGIN_LOCK_SECONDS: positiveInt(30, 'seconds'),
    ASTER_LOG_LEVEL: logLevel,
    /** The newest version of each job this process sends while older receivers remain: `job=v` or `job@queue=v`, comma-separated. */
    ASTER_JOB_VERSION_CAPS: versionCapsSetting,
    /** Placement's allocation ratios for new hosts (Nova's cpu/ram/disk_allocation_ratio). */
    ASTER_CPU_ALLOCATION_RATIO: ratio(4.0),
    ASTER_RAM_ALLOCATION_RATIO: ratio(1.0),
    ASTER_DISK_ALLOCATION_RATIO: ratio(1.0),
    /** A build not finished after this long is rescheduled or fails (default 10 minutes). */
    ASTER_BUILD_TIMEOUT_SECONDS: positiveInt(600, 'seconds'),
    /** Hosts tried per build: the chosen one and the alternates. */
    ASTER_SCHEDULER_MAX_ATTEMPTS: positiveInt(3, 'attempts'),
    /** The zone of hosts in no zone (Nova's default_availability_zone). */
    ASTER_DEFAULT_AVAILABILITY_ZONE: z.string().trim().min(1, 'must name a zone').max(255).default('nova'),
    /** Scheduler filters in the order they run, comma-separated (Nova's enabled_filters without "Filter"). */
    ASTER_SCHEDULER_FILTERS: z
      .string()
      .transform((v) => v.split(',').map((f) => f.trim()).filter(Boolean))
      .optional(),
    ASTER_SCHEDULER_HOST_SUBSET_SIZE: positiveInt(1, 'hosts'),
    /** Decisions one scheduler process makes at once; more wait their turn. */
    ASTER_SCHEDULER_CONCURRENT_DECISIONS: positiveInt(2, 'decisions'),
    ASTER_SCHEDULER_MAX_INSTANCES_PER_HOST: positiveInt(50, 'instances'),
    /** How long one read of the hosts serves decisions, ms (changes to services and aggregates end it at once). */
    ASTER_SCHEDULER_HOST_STATE_TTL_MS: z.coerce.number({ error: 'must be a number of milliseconds' }).int().min(0).max(60_000).default(1000),
    ASTER_SCHEDULER_RAM_WEIGHT_MULTIPLIER: multiplier(1),
    ASTER_SCHEDULER_CPU_WEIGHT_MULTIPLIER: multiplier(0),
    ASTER_SCHEDULER_DISK_WEIGHT_MULTIPLIER: multiplier(0),
    ASTER_SCHEDULER_NUM_INSTANCES_WEIGHT_MULTIPLIER: multiplier(0),
    ASTER_SCHEDULER_SOFT_AFFINITY_WEIGHT_MULTIPLIER: multiplier(1),
    ASTER_SCHEDULER_SOFT_ANTI_AFFINITY_WEIGHT_MULTIPLIER: multiplier(1),
    ASTER_SCHEDULER_BUILD_FAILURE_WEIGHT_MULTIPLIER: multiplier(1_000_000),
    /** Where image data is kept; the launcher passes <data dir>/images, else <ASTER_DATA_DIR or cwd>/images. */
    ASTER_IMAGE_DIR: z.string().optional(),
    /** Console tokens: their lifetime, and where the proxy and the web console are reached (no trailing slash). */
    ASTER_CONSOLE_TOKEN_TTL: positiveInt(600, 'seconds'),
    ASTER_PROXY_URL: publicUrl(['ws:', 'wss:'], 'the console proxy as browsers reach it, like ws://127.0.0.1:6080').default('ws://127.0.0.1:6080'),
    ASTER_WEB_URL: publicUrl(['http:', 'https:'], 'the web console as people reach it, like http://127.0.0.1:3000').default('http://127.0.0.1:3000'),
    ASTER_DATA_DIR: z.string().optional(),
    /** The network role: OVN's northbound and southbound databases (`unix:<socket>` or `tcp:<host>:<port>`). */
    ASTER_OVN_NB_DB: ovsdbRemote.default('unix:/var/run/ovn/ovnnb_db.sock'),
    ASTER_OVN_SB_DB: ovsdbRemote.default('unix:/var/run/ovn/ovnsb_db.sock'),
    /** How often the network role compares OVN with Aster's model, and what it does with a difference. */
    ASTER_OVN_SYNC_SECONDS: positiveInt(60, 'seconds'),
    ASTER_OVN_SYNC_MODE: z.enum(['repair', 'log'], { error: 'must be repair (make OVN match Aster) or log (only report differences)' }).default('repair'),
  }),
);

/** The image store folder, absolute: hosts and their hypervisor read the files it names. */
export const imageDir = resolve(env.ASTER_IMAGE_DIR ?? join(env.ASTER_DATA_DIR ?? process.cwd(), 'images'));
