import { errorCode } from '@aster/client';

export function isUnauthorized(error: unknown): boolean {
  return errorCode(error) === 'UNAUTHORIZED';
}

export const API_UNREACHABLE = 'The Aster API could not be reached. Try again in a moment.';

/**
 * A sentence to show the user. The API's own messages are written for people ("Too many failed
 * logins…"), so they are shown as they are; failures without an API answer are not.
 */
export function describeApiError(error: unknown): string {
  if (errorCode(error) !== undefined && error instanceof Error) return error.message;
  return API_UNREACHABLE;
}
