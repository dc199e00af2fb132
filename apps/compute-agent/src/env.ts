import { hostname } from 'node:os';
import { flag, logLevel, parseEnv, postgresUrl, z } from '@aster/env';

const count = (fallback: number) => z.coerce.number().int('must be a whole number').min(0, 'must not be negative').default(fallback);

/** The compute agent's settings; nothing else in apps/compute-agent reads the environment. */
export const env = parseEnv(
  z.object({
    ASTER_COMPUTE_HOST: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/, 'must be a host name (letters, digits, dots, dashes)')
      .default(hostname()),
    /** The agent's only use of the database is its job queues. */
    DATABASE_URL: postgresUrl,
    ASTER_API_URL: z.url({ error: 'must be the API URL, e.g. http://127.0.0.1:8774' }).default('http://127.0.0.1:8774'),
    ASTER_DRIVER: z.enum(['fake'], { error: 'must be fake (the libvirt driver is not built yet)' }).default('fake'),
    ASTER_FAKE_VCPUS: count(16),
    ASTER_FAKE_RAM_MB: count(65536),
    ASTER_FAKE_DISK_GB: count(1000),
    ASTER_FAKE_FAIL_SPAWN: flag(false),
    ASTER_FAKE_SPAWN_DELAY_MS: count(0),
    ASTER_HEARTBEAT_SECONDS: z.coerce.number().positive('must be a positive number of seconds').default(10),
    ASTER_POWER_SYNC_SECONDS: z.coerce.number().positive('must be a positive number of seconds').default(60),
    ASTER_LOG_LEVEL: logLevel,
  }),
);
