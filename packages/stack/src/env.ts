import { logLevel, parseEnv, port, postgresUrl, z } from '@aster/env';

/** The launcher's settings (`npm start`, `npm test`, `npm run migrate`). */
export const launcherSchema = z.object({
  ASTER_DATA_DIR: z.string().optional(),
  DATABASE_URL: postgresUrl.optional(),
  ASTER_HOST: z.string().default('127.0.0.1'),
  ASTER_API_PORT: port(8774),
  ASTER_METADATA_PORT: port(8775),
  ASTER_PROXY_PORT: port(6080),
  ASTER_WEB_PORT: port(3000),
  ASTER_PG_PORT: port(15432),
  ASTER_PG_BIN: z.string().optional(),
  ASTER_ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').max(1024).optional(),
  ASTER_LOG_LEVEL: logLevel,
});

export type LauncherSettings = z.infer<typeof launcherSchema>;

export const readLauncherEnv = () => parseEnv(launcherSchema);

/** The environment handed to child processes: the caller's, so settings such as NODE_OPTIONS carry through. */
export const inheritedEnv = (): Record<string, string> => ({ ...(process.env as Record<string, string>) });
