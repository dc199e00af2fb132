import { logLevel, parseEnv, port, z } from '@aster/env';

/** The console proxy's settings; nothing else in apps/proxy reads the environment. */
export const env = parseEnv(
  z.object({
    ASTER_HOST: z.string().default('127.0.0.1'),
    ASTER_PROXY_PORT: port(6080),
    ASTER_LOG_LEVEL: logLevel,
  }),
);
