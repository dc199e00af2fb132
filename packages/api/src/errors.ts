import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';

/** The closed set of things that can go wrong in the domain, each mapped to one tRPC code. */
export const errorCodes = {
  NotFound: 'NOT_FOUND',
  Conflict: 'CONFLICT',
  InvalidInput: 'BAD_REQUEST',
  InvalidState: 'CONFLICT',
  Unauthorized: 'UNAUTHORIZED',
  Forbidden: 'FORBIDDEN',
  TooManyRequests: 'TOO_MANY_REQUESTS',
  QuotaExceeded: 'FORBIDDEN',
} as const satisfies Record<string, TRPC_ERROR_CODE_KEY>;

export type AsterErrorCode = keyof typeof errorCodes;

export class AsterError extends Error {
  constructor(
    readonly code: AsterErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AsterError';
  }
}

export const notFound = (what: string, id: string) => new AsterError('NotFound', `${what} ${id} not found`);

export function toTRPCError(error: AsterError): TRPCError {
  return new TRPCError({ code: errorCodes[error.code], message: error.message, cause: error });
}

/** Postgres unique violation (23505) on the named constraint or index. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; constraint?: string } | null;
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}
