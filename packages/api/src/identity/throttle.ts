import type { Queryable } from '@aster/db';
import type { ApiConfig } from '../context.ts';
import { AsterError } from '../errors.ts';

/**
 * Login throttling per user name (as typed, lower-cased; known or not). After `loginMaxFailures`
 * failures inside the window, the name is locked for loginLockSeconds, doubling with each further
 * failure up to loginLockMaxSeconds. A lock refuses even the right password until it ends.
 */
export async function assertNotLocked(db: Queryable, username: string, now: Date): Promise<void> {
  const { rows } = await db.query<{ locked_until: Date | null }>(
    'SELECT locked_until FROM login_throttle WHERE username = $1',
    [username.toLowerCase()],
  );
  const until = rows[0]?.locked_until;
  if (until && until.getTime() > now.getTime()) {
    const seconds = Math.ceil((until.getTime() - now.getTime()) / 1000);
    throw new AsterError(
      'TooManyRequests',
      `Too many failed logins for user ${username}; try again in ${seconds} s`,
    );
  }
}

export function lockSeconds(failures: number, config: ApiConfig): number {
  const over = failures - config.loginMaxFailures;
  if (over < 0) return 0;
  return Math.min(config.loginLockSeconds * 2 ** Math.min(over, 30), config.loginLockMaxSeconds);
}

export async function recordFailure(db: Queryable, username: string, now: Date, config: ApiConfig): Promise<void> {
  const windowStart = new Date(now.getTime() - config.loginFailureWindowSeconds * 1000);
  // One statement, so concurrent failures all count.
  const { rows } = await db.query<{ failures: number }>(
    `INSERT INTO login_throttle (username, failures, last_failure_at) VALUES ($1, 1, $2)
     ON CONFLICT (username) DO UPDATE SET
       failures = CASE WHEN login_throttle.last_failure_at < $3 THEN 1 ELSE login_throttle.failures + 1 END,
       last_failure_at = $2
     RETURNING failures`,
    [username.toLowerCase(), now, windowStart],
  );
  const seconds = lockSeconds(rows[0]!.failures, config);
  if (seconds > 0) {
    await db.query('UPDATE login_throttle SET locked_until = $2 WHERE username = $1', [
      username.toLowerCase(),
      new Date(now.getTime() + seconds * 1000),
    ]);
  }
}

export async function clearFailures(db: Queryable, username: string): Promise<void> {
  await db.query('DELETE FROM login_throttle WHERE username = $1', [username.toLowerCase()]);
}
