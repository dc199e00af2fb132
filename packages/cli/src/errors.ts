import { errorCode, TRPCClientError } from '@aster/client';

/** A failure to report as it is, on stderr, with exit code 1. */
export class CliError extends Error {
  override name = 'CliError';
}

/** Bad usage: reported with the command's usage line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

/** The innermost cause of a failed connection (ECONNREFUSED, ENOTFOUND …), where there is one. */
function networkCause(error: unknown): { code?: string; message: string } | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return { code, message: current.message };
    if (current instanceof AggregateError && current.errors[0] instanceof Error) current = current.errors[0];
    else current = current.cause;
  }
  return null;
}

/** What to tell the user about a failure: the API's own message when it answered, else what kept it from answering. */
export function describeError(error: unknown, url: string | undefined): string {
  if (error instanceof CliError) return error.message;
  if (error instanceof TRPCClientError) {
    const code = errorCode(error);
    if (code === 'UNAUTHORIZED') return `${error.message}\nSign in with: aster login`;
    if (code) return error.message;
    const cause = networkCause(error);
    if (cause) return `Cannot reach the Aster API at ${url ?? 'its URL'}: ${cause.message}`;
    return url ? `The Aster API at ${url} failed: ${error.message}` : error.message;
  }
  const cause = networkCause(error);
  if (cause) return `Cannot reach the Aster API at ${url ?? 'its URL'}: ${cause.message}`;
  return error instanceof Error ? error.message : String(error);
}
