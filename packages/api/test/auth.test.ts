import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { ensureAdmin } from '../src/index.ts';
import { adminSession, ADMIN_PASSWORD, caller, clock, expectError, userSession } from './harness.ts';

const db = useTestDatabase();

describe('password login', () => {
  it('gives the first admin a token scoped to the admin project, valid 12 hours', async () => {
    const c = clock();
    const session = await adminSession(db.pool, c);
    expect(session.token).toMatch(/^ast_[A-Za-z0-9_-]{43}$/);
    expect(session.user.name).toBe('admin');
    expect(session.project.name).toBe('admin');
    expect(session.roles).toEqual(['admin']);
    expect(new Date(session.expiresAt).getTime() - c.now().getTime()).toBe(12 * 3600 * 1000);
    const me = await session.api.auth.whoami();
    expect(me).toMatchObject({ user: { name: 'admin' }, project: { name: 'admin' }, roles: ['admin'], isAdmin: true, credential: null });
    expect(me.projects).toEqual([{ id: session.project.id, name: 'admin', roles: ['admin'] }]);
  });

  it('stores only a hash of the token and of the password', async () => {
    const session = await adminSession(db.pool);
    const tokens = await db.pool.query<{ token_hash: Buffer }>('SELECT token_hash FROM tokens');
    for (const row of tokens.rows) expect(row.token_hash.toString('utf8')).not.toContain(session.token);
    const users = await db.pool.query<{ password_hash: string }>(`SELECT password_hash FROM users WHERE name = 'admin'`);
    expect(users.rows[0]!.password_hash).toMatch(/^scrypt\$/);
    expect(users.rows[0]!.password_hash).not.toContain(ADMIN_PASSWORD);
  });

  it('answers a wrong password and an unknown user alike, and issues nothing', async () => {
    await ensureAdmin(db.pool, { password: ADMIN_PASSWORD });
    const before = await db.pool.query('SELECT count(*) FROM tokens');
    const anon = caller(db.pool);
    await expectError(anon.auth.login({ username: 'admin', password: 'wrong password' }), 'UNAUTHORIZED', /^Invalid username or password$/);
    await expectError(anon.auth.login({ username: 'nobody', password: 'whatever!' }), 'UNAUTHORIZED', /^Invalid username or password$/);
    const after = await db.pool.query('SELECT count(*) FROM tokens');
    expect(after.rows).toEqual(before.rows);
    await db.pool.query('DELETE FROM login_throttle');
  });

  it('signs in to a named project, and refuses one the user holds no role on', async () => {
    const admin = await adminSession(db.pool);
    const alice = await userSession(db.pool, admin.api, { name: 'alice', project: 'web', role: 'member' });
    await admin.api.projects.create({ name: 'other' });
    const scoped = await caller(db.pool).auth.login({ username: 'ALICE', password: alice.password, project: 'web' });
    expect(scoped).toMatchObject({ user: { name: 'alice' }, project: { name: 'web' }, roles: ['member'] });
    await expectError(
      caller(db.pool).auth.login({ username: 'alice', password: alice.password, project: 'other' }),
      'UNAUTHORIZED',
      /alice has no role on project other/,
    );
  });

  it('refuses a user with no role anywhere, and a disabled user', async () => {
    const admin = await adminSession(db.pool);
    await admin.api.users.create({ name: 'loner', password: 'loner-password' });
    await expectError(caller(db.pool).auth.login({ username: 'loner', password: 'loner-password' }), 'UNAUTHORIZED', /no role on any project/);
    await admin.api.users.create({ name: 'sleepy', password: 'sleepy-password', project: 'admin', role: 'reader', enabled: false });
    await expectError(caller(db.pool).auth.login({ username: 'sleepy', password: 'sleepy-password' }), 'UNAUTHORIZED', /sleepy is disabled/);
  });

  it('names the field of bad input', async () => {
    await expectError(caller(db.pool).auth.login({ username: '', password: 'x' }), 'BAD_REQUEST', /username: must not be empty/);
  });
});

describe('tokens', () => {
  it('refuses calls with no token, a made-up token, or a malformed one', async () => {
    await expectError(caller(db.pool).auth.whoami(), 'UNAUTHORIZED', /Sign in first/);
    await expectError(caller(db.pool, { token: 'ast_' + 'x'.repeat(43) }).auth.whoami(), 'UNAUTHORIZED', /Invalid token/);
    await expectError(caller(db.pool, { token: 'nonsense' }).auth.whoami(), 'UNAUTHORIZED', /Invalid token/);
  });

  it('expires at the end of its lifetime', async () => {
    const c = clock();
    const session = await adminSession(db.pool, c);
    c.advance(12 * 3600 - 1);
    await expect(session.api.auth.whoami()).resolves.toMatchObject({ user: { name: 'admin' } });
    c.advance(1);
    await expectError(session.api.auth.whoami(), 'UNAUTHORIZED', /Token expired/);
  });

  it('follows the token lifetime setting', async () => {
    const c = clock();
    await ensureAdmin(db.pool, { password: ADMIN_PASSWORD });
    const short = await caller(db.pool, { clock: c, config: { tokenTtlSeconds: 60 } }).auth.login({ username: 'admin', password: ADMIN_PASSWORD });
    expect(new Date(short.expiresAt).getTime() - c.now().getTime()).toBe(60_000);
    c.advance(61);
    await expectError(caller(db.pool, { token: short.token, clock: c }).auth.whoami(), 'UNAUTHORIZED', /Token expired/);
  });

  it('is revoked by logout, and only that token is', async () => {
    const one = await adminSession(db.pool);
    const two = await adminSession(db.pool);
    await expect(one.api.auth.logout()).resolves.toEqual({ revoked: true });
    await expectError(one.api.auth.whoami(), 'UNAUTHORIZED', /Token revoked/);
    await expectError(one.api.auth.logout(), 'UNAUTHORIZED', /Token revoked/);
    await expect(two.api.auth.whoami()).resolves.toMatchObject({ user: { name: 'admin' } });
  });

  it('loses a role at once when the role is revoked', async () => {
    const admin = await adminSession(db.pool);
    const bob = await userSession(db.pool, admin.api, { name: 'bob', project: 'bobs', role: 'member' });
    await expect(bob.api.auth.whoami()).resolves.toMatchObject({ roles: ['member'] });
    await admin.api.roleAssignments.revoke({ userId: bob.user.id, project: 'bobs', role: 'member' });
    await expectError(bob.api.auth.whoami(), 'UNAUTHORIZED', /bob no longer has a role on project bobs/);
  });
});

describe('switching project', () => {
  it('trades the token for one on another project, same expiry, revoking the old one', async () => {
    const c = clock();
    const admin = await adminSession(db.pool, c);
    const sam = await userSession(db.pool, admin.api, { name: 'sam', project: 'sam-a', role: 'member' }, c);
    await admin.api.projects.create({ name: 'sam-b' });
    await admin.api.roleAssignments.grant({ userId: sam.user.id, project: 'sam-b', role: 'reader' });
    c.advance(60);
    const switched = await sam.api.auth.switchProject({ project: 'sam-b' });
    expect(switched).toMatchObject({ user: { name: 'sam' }, project: { name: 'sam-b' }, roles: ['reader'], expiresAt: sam.expiresAt });
    await expectError(sam.api.auth.whoami(), 'UNAUTHORIZED', /Token revoked/);
    await expect(caller(db.pool, { token: switched.token, clock: c }).auth.whoami()).resolves.toMatchObject({ project: { name: 'sam-b' } });
  });

  it('refuses a project without a role (the session stays good) and application credentials', async () => {
    const admin = await adminSession(db.pool);
    const tia = await userSession(db.pool, admin.api, { name: 'tia', project: 'tia-a', role: 'member' });
    await admin.api.projects.create({ name: 'tia-elsewhere' });
    await expectError(tia.api.auth.switchProject({ project: 'tia-elsewhere' }), 'NOT_FOUND', /tia has no role on project tia-elsewhere/);
    await expectError(tia.api.auth.switchProject({ project: 'no-such-project' }), 'NOT_FOUND', /tia has no role on project no-such-project/);
    await expect(tia.api.auth.whoami()).resolves.toMatchObject({ project: { name: 'tia-a' } });
    const credential = await tia.api.credentials.create({ name: 'bound' });
    const login = await caller(db.pool).auth.login({ credentialId: credential.id, secret: credential.secret });
    await expectError(caller(db.pool, { token: login.token }).auth.switchProject({ project: 'tia-a' }), 'FORBIDDEN', /bound is bound to project tia-a/);
  });
});
