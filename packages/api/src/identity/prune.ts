import type { Queryable } from '@aster/db';
import type { ApiConfig } from '../context.ts';

/**
 * Deletes what can no longer matter: tokens expired or revoked more than a day ago (kept a day so that
 * "token expired" and "token revoked" stay precise for a while), and throttle rows whose failures have aged
 * out of the window with no lock in force.
 */
export async function pruneIdentity(db: Queryable, now: Date, config: ApiConfig): Promise<{ tokens: number; throttle: number }> {
  const dayAgo = new Date(now.getTime() - 24 * 3600 * 1000);
  const tokens = await db.query('DELETE FROM tokens WHERE expires_at < $1 OR revoked_at < $1', [dayAgo]);
  const windowStart = new Date(now.getTime() - config.loginFailureWindowSeconds * 1000);
  const throttle = await db.query(
    'DELETE FROM login_throttle WHERE last_failure_at < $1 AND (locked_until IS NULL OR locked_until < $2)',
    [windowStart, now],
  );
  return { tokens: tokens.rowCount ?? 0, throttle: throttle.rowCount ?? 0 };
}
