import { flag, parseEnv, url, z } from '@aster/env';

// The only module in apps/web that reads process.env.
export const env = parseEnv(
  z.object({
    ASTER_API_URL: url('the Aster API base, e.g. http://127.0.0.1:8774').default('http://127.0.0.1:8774'),
    /** Mark the session cookie Secure; set to 1 when the web app is served over HTTPS. */
    ASTER_SESSION_COOKIE_SECURE: flag(false),
    /** Debian's spice-html5 (`apt-get install spice-html5`), served under /spice-html5/ for the SPICE console. */
    ASTER_SPICE_HTML5_DIR: z
      .string()
      .refine((v) => v.startsWith('/'), 'must be an absolute path, e.g. /usr/share/spice-html5')
      .default('/usr/share/spice-html5'),
  }),
  process.env,
);
