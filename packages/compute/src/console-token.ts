import { createHash } from 'node:crypto';

/**
 * Console tokens are 32 random bytes; the database keeps only the SHA-256 of their UTF-8 text, so a leaked
 * table opens nothing. The API stores it and the console proxy looks tokens up by it.
 */
export function hashConsoleToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
