import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A bearer secret: 32 random bytes, base64url. Only its SHA-256 is ever stored. */
export function generateSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function secretMatches(secret: string, hash: Buffer): boolean {
  const actual = hashSecret(secret);
  return actual.length === hash.length && timingSafeEqual(actual, hash);
}
