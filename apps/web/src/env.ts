import { flag, parseEnv, url, z } from '@aster/env';

// The only module in apps/web that reads process.env.
export const env = parseEnv(
  z.object({
    ASTER_API_URL: url('the Aster API base, e.g. http://127.0.0.1:8774').default('http://127.0.0.1:8774'),
    /** Mark the session cookie Secure; set to 1 when the console is served over HTTPS. */
    ASTER_SESSION_COOKIE_SECURE: flag(false),
  }),
  process.env,
);
