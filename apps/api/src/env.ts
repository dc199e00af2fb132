import { logLevel, parseEnv, port, postgresUrl, z } from '@aster/env';

const positiveInt = (fallback: number, what: string) =>
  z.coerce.number({ error: `must be a number of ${what}` }).int(`must be a whole number of ${what}`).min(1, `must be at least 1 ${what}`).default(fallback);

/** The API process's settings; nothing else in apps/api reads the environment. */
export const env = parseEnv(
  z.object({
    DATABASE_URL: postgresUrl,
    ASTER_HOST: z.string().default('127.0.0.1'),
    ASTER_API_PORT: port(8774),
    ASTER_TOKEN_TTL: positiveInt(12 * 3600, 'seconds'),
    ASTER_LOGIN_MAX_FAILURES: positiveInt(5, 'failures'),
    ASTER_LOGIN_LOCK_SECONDS: positiveInt(30, 'seconds'),
    ASTER_LOG_LEVEL: logLevel,
  }),
);
