import { hostname } from 'node:os';
import { logLevel, parseEnv, z } from '@aster/env';

/** The compute agent's settings; nothing else in apps/compute-agent reads the environment. */
export const env = parseEnv(
  z.object({
    ASTER_COMPUTE_HOST: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/, 'must be a host name (letters, digits, dots, dashes)')
      .default(hostname()),
    ASTER_API_URL: z.url({ error: 'must be the API URL, e.g. http://127.0.0.1:8774' }).default('http://127.0.0.1:8774'),
    ASTER_LOG_LEVEL: logLevel,
  }),
);
