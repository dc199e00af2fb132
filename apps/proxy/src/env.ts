import { existsSync } from 'node:fs';
import { flag, logLevel, parseEnv, port, postgresUrl, z } from '@aster/env';

const originList = z
  .string()
  .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
  .pipe(
    z.array(
      z.string().refine((o) => !o.includes('://') || URL.canParse(o), 'each entry must be an origin like https://console.example.com or a host name'),
    ),
  );

const file = z.string().refine((p) => existsSync(p), 'no such file');

/** The console proxy's settings; nothing else in apps/proxy reads the environment. */
export const env = parseEnv(
  z
    .object({
      ASTER_HOST: z.string().default('127.0.0.1'),
      ASTER_PROXY_PORT: port(6080),
      /** The proxy's own role, which may read the view console_token_targets and nothing else. */
      DATABASE_URL: postgresUrl,
      /** Origins or host names whose pages may open consoles, besides pages on the proxy's own host name. */
      ASTER_PROXY_ALLOWED_ORIGINS: originList.default([]),
      ASTER_PROXY_MAX_SESSIONS: z.coerce.number({ error: 'must be a number of sessions' }).int('must be a whole number of sessions').min(1, 'must be at least 1').default(1000),
      /** Close open sessions when their token expires (by default a session outlives its token). */
      ASTER_PROXY_CLOSE_AT_EXPIRY: flag(false),
      ASTER_PROXY_PING_SECONDS: z.coerce.number({ error: 'must be a number of seconds' }).int('must be a whole number of seconds').min(0, 'must be 0 (off) or more').default(30),
      /** Both or neither: with both, the proxy serves wss:// (PEM files). */
      ASTER_PROXY_TLS_CERT: file.optional(),
      ASTER_PROXY_TLS_KEY: file.optional(),
      ASTER_LOG_LEVEL: logLevel,
    })
    .superRefine((v, ctx) => {
      if (Boolean(v.ASTER_PROXY_TLS_CERT) !== Boolean(v.ASTER_PROXY_TLS_KEY)) {
        const missing = v.ASTER_PROXY_TLS_CERT ? 'ASTER_PROXY_TLS_KEY' : 'ASTER_PROXY_TLS_CERT';
        ctx.addIssue({ code: 'custom', path: [missing], message: 'set both ASTER_PROXY_TLS_CERT and ASTER_PROXY_TLS_KEY for wss://, or neither' });
      }
    }),
);
