import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { defaultApiConfig, pruneIdentity } from '../src/index.ts';
import { adminSession, caller, clock, expectError } from './harness.ts';

const db = useTestDatabase();

describe('pruning', () => {
  it('deletes tokens a day after they expire or are revoked, and stale throttle rows, keeping the rest', async () => {
    const c = clock();
    const live = await adminSession(db.pool, c);
    const revoked = await adminSession(db.pool, c);
    await revoked.api.auth.logout();
    for (let i = 0; i < 2; i++) await expectError(caller(db.pool, { clock: c }).auth.login({ username: 'ghost', password: 'guess!!!' }), 'UNAUTHORIZED');

    expect(await pruneIdentity(db.pool, c.now(), defaultApiConfig)).toEqual({ tokens: 0, throttle: 0 });
    c.advance(24 * 3600 + 1);
    const fresh = await adminSession(db.pool, c);
    expect(await pruneIdentity(db.pool, c.now(), defaultApiConfig)).toEqual({ tokens: 1, throttle: 1 });
    await expectError(live.api.auth.whoami(), 'UNAUTHORIZED', /Token expired/);
    c.advance(13 * 3600);
    expect(await pruneIdentity(db.pool, c.now(), defaultApiConfig)).toEqual({ tokens: 1, throttle: 0 });
    const left = await db.pool.query<{ expires_at: Date }>('SELECT expires_at FROM tokens');
    expect(left.rows.map((r) => r.expires_at.toISOString())).toEqual([fresh.expiresAt]);
  });
});
