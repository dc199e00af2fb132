import { z } from 'zod';

/**
 * Settings come from the environment, parsed once at start by each app's env.ts.
 * A bad value stops the process with a message naming the variable, never a stack trace.
 */
export class EnvError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      'Invalid settings:\n' +
        problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n'),
    );
    this.name = 'EnvError';
  }
}

export function readEnv<S extends z.ZodObject>(
  schema: S,
  source: Record<string, string | undefined>,
): z.infer<S> {
  // Empty strings mean "not set", so `FOO= npm start` falls back to the default.
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = source[key];
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new EnvError(
    result.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? '(settings)');
      const given = cleaned[variable];
      const suffix = given === undefined ? '' : ` (got ${JSON.stringify(given)})`;
      return { variable, message: issue.message + suffix };
    }),
  );
}

/** Parses the settings or exits the process with status 78 (EX_CONFIG) and a clear message. */
export function parseEnv<S extends z.ZodObject>(
  schema: S,
  // eslint-disable-next-line no-restricted-properties -- this is the one reader of the environment
  source: Record<string, string | undefined> = process.env,
): z.infer<S> {
  try {
    return readEnv(schema, source);
  } catch (error) {
    if (error instanceof EnvError) {
      process.stderr.write(error.message + '\n');
      process.exit(78);
    }
    throw error;
  }
}

export const port = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a port number' })
    .int('must be a whole port number')
    .min(1, 'must be a port number from 1 to 65535')
    .max(65535, 'must be a port number from 1 to 65535')
    .default(fallback);

export const flag = (fallback: boolean) =>
  z
    .enum(['0', '1', 'true', 'false', 'yes', 'no'], {
      error: 'must be one of 0, 1, true, false, yes, no',
    })
    .transform((v) => v === '1' || v === 'true' || v === 'yes')
    .default(fallback);

export const url = (what: string) =>
  z.url({ error: `must be a URL (${what})` });

export const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL');

export const logLevel = z
  .enum(['debug', 'info', 'warn', 'error'], { error: 'must be one of debug, info, warn, error' })
  .default('info');

export { z };
