import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { defaultApiConfig, ensureAdmin } from '../src/index.ts';
import { lockSeconds } from '../src/identity/throttle.ts';
import { ADMIN_PASSWORD, caller, clock, expectError } from './harness.ts';

const db = useTestDatabase();

describe('login throttling', () => {
  it('locks a user name after 5 failures, refusing even the right password until the lock ends', async () => {
    const c = clock();
    await ensureAdmin(db.pool, { password: ADMIN_PASSWORD });
    const anon = caller(db.pool, { clock: c });
    for (let i = 0; i < 5; i++) {
      await expectError(anon.auth.login({ username: 'admin', password: `guess ${i}` }), 'UNAUTHORIZED', /Invalid username or password/);
    }
    await expectError(anon.auth.login({ username: 'admin', password: ADMIN_PASSWORD }), 'TOO_MANY_REQUESTS', /Too many failed logins for user admin; try again in 30 s/);
    c.advance(29);
    await expectError(anon.auth.login({ username: 'Admin', password: ADMIN_PASSWORD }), 'TOO_MANY_REQUESTS', /try again in 1 s/);
    c.advance(1);
    await expect(anon.auth.login({ username: 'admin', password: ADMIN_PASSWORD })).resolves.toMatchObject({ user: { name: 'admin' } });
    // Success clears the count: four more failures do not lock.
    for (let i = 0; i < 4; i++) await expectError(anon.auth.login({ username: 'admin', password: 'nope nope' }), 'UNAUTHORIZED');
    await expect(anon.auth.login({ username: 'admin', password: ADMIN_PASSWORD })).resolves.toBeTruthy();
  });

  it('doubles the lock with each failure past the limit, up to the cap', async () => {
    const c = clock();
    const anon = caller(db.pool, { clock: c });
    for (let i = 0; i < 5; i++) await expectError(anon.auth.login({ username: 'mallory', password: 'guess!!!' }), 'UNAUTHORIZED');
    c.advance(30);
    await expectError(anon.auth.login({ username: 'mallory', password: 'guess!!!' }), 'UNAUTHORIZED');
    await expectError(anon.auth.login({ username: 'mallory', password: 'guess!!!' }), 'TOO_MANY_REQUESTS', /try again in 60 s/);
    expect([5, 6, 7, 8, 20].map((n) => lockSeconds(n, defaultApiConfig))).toEqual([30, 60, 120, 240, 900]);
    expect(lockSeconds(4, defaultApiConfig)).toBe(0);
  });

  it('throttles unknown names the same way, so it reveals nothing about which users exist', async () => {
    const c = clock();
    const anon = caller(db.pool, { clock: c });
    for (let i = 0; i < 5; i++) await expectError(anon.auth.login({ username: 'ghost', password: 'guess!!!' }), 'UNAUTHORIZED', /Invalid username or password/);
    await expectError(anon.auth.login({ username: 'ghost', password: 'guess!!!' }), 'TOO_MANY_REQUESTS', /ghost/);
  });

  it('forgets failures older than the window', async () => {
    const c = clock();
    const anon = caller(db.pool, { clock: c });
    for (let i = 0; i < 4; i++) await expectError(anon.auth.login({ username: 'slowpoke', password: 'guess!!!' }), 'UNAUTHORIZED');
    c.advance(16 * 60);
    for (let i = 0; i < 4; i++) await expectError(anon.auth.login({ username: 'slowpoke', password: 'guess!!!' }), 'UNAUTHORIZED', /Invalid/);
  });

  it('counts failures that arrive at the same moment', async () => {
    const c = clock();
    const anon = caller(db.pool, { clock: c });
    const attempts = Array.from({ length: 5 }, () => anon.auth.login({ username: 'burst', password: 'guess!!!' }).catch(() => null));
    await Promise.all(attempts);
    await expectError(anon.auth.login({ username: 'burst', password: 'guess!!!' }), 'TOO_MANY_REQUESTS');
  });
});

describe('changing one’s own password', () => {
  it('counts wrong current passwords towards the same lock as logins', async () => {
    const c = clock();
    await ensureAdmin(db.pool, { password: ADMIN_PASSWORD });
    const session = await caller(db.pool, { clock: c }).auth.login({ username: 'admin', password: ADMIN_PASSWORD });
    const api = caller(db.pool, { token: session.token, clock: c });
    for (let i = 0; i < 5; i++) {
      await expectError(api.users.setPassword({ userId: session.user.id, currentPassword: `guess ${i}`, password: 'a brand new one' }), 'FORBIDDEN');
    }
    await expectError(
      api.users.setPassword({ userId: session.user.id, currentPassword: ADMIN_PASSWORD, password: 'a brand new one' }),
      'TOO_MANY_REQUESTS',
      /Too many failed logins for user admin/,
    );
    await expectError(caller(db.pool, { clock: c }).auth.login({ username: 'admin', password: ADMIN_PASSWORD }), 'TOO_MANY_REQUESTS');
  });
});
