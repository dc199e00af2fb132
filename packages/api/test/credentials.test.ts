import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { adminSession, caller, clock, counts, expectError, userSession } from './harness.ts';

const db = useTestDatabase();

describe('application credentials', () => {
  it('shows the secret once, logs in with id and secret, and carries its own role', async () => {
    const admin = await adminSession(db.pool);
    const created = await admin.api.credentials.create({ name: 'ci', role: 'reader', description: 'nightly job' });
    expect(created.secret).toMatch(/^asc_/);
    expect(created).toMatchObject({ name: 'ci', role: 'reader', project: { name: 'admin' }, revokedAt: null, expiresAt: null });
    const listed = await admin.api.credentials.list();
    expect(listed.map((c) => c.name)).toContain('ci');
    expect(JSON.stringify(listed)).not.toContain(created.secret);

    const login = await caller(db.pool).auth.login({ credentialId: created.id, secret: created.secret });
    expect(login).toMatchObject({ user: { name: 'admin' }, project: { name: 'admin' }, roles: ['reader'] });
    const script = caller(db.pool, { token: login.token });
    await expect(script.auth.whoami()).resolves.toMatchObject({ roles: ['reader'], isAdmin: false, credential: { id: created.id, name: 'ci' } });
    // A reader credential of a cloud admin is not a cloud admin.
    await expectError(script.users.list(), 'FORBIDDEN', /users.list needs a cloud administrator/);
    const row = await db.pool.query('SELECT last_used_at FROM app_credentials WHERE id = $1', [created.id]);
    expect(row.rows[0].last_used_at).not.toBeNull();
  });

  it('refuses a wrong secret, an unknown id and a malformed id alike', async () => {
    const admin = await adminSession(db.pool);
    const created = await admin.api.credentials.create({ name: 'wrong-secret' });
    const anon = caller(db.pool);
    const message = /^Invalid application credential id or secret$/;
    await expectError(anon.auth.login({ credentialId: created.id, secret: created.secret + 'x' }), 'UNAUTHORIZED', message);
    await expectError(anon.auth.login({ credentialId: '00000000-0000-4000-8000-000000000000', secret: created.secret }), 'UNAUTHORIZED', message);
    await expectError(anon.auth.login({ credentialId: 'not-a-uuid', secret: created.secret }), 'UNAUTHORIZED', message);
  });

  it('defaults to the caller’s highest role and never exceeds it', async () => {
    const admin = await adminSession(db.pool);
    const mia = await userSession(db.pool, admin.api, { name: 'mia', project: 'mias', role: 'member' });
    await expect(mia.api.credentials.create({ name: 'default-role' })).resolves.toMatchObject({ role: 'member', project: { name: 'mias' } });
    const before = await counts(db.pool);
    await expectError(mia.api.credentials.create({ name: 'escalate', role: 'admin' }), 'FORBIDDEN', /cannot give a credential role admin: you hold member/);
    await expectError(mia.api.credentials.create({ name: 'default-role' }), 'CONFLICT', /already have an application credential named default-role/);
    await expectError(mia.api.credentials.create({ name: 'bad name!' }), 'BAD_REQUEST', /name:/);
    expect(await counts(db.pool)).toEqual(before);
  });

  it('cannot mint more credentials or change passwords from a credential token', async () => {
    const admin = await adminSession(db.pool);
    const created = await admin.api.credentials.create({ name: 'limited' });
    const login = await caller(db.pool).auth.login({ credentialId: created.id, secret: created.secret });
    const script = caller(db.pool, { token: login.token });
    await expectError(script.credentials.create({ name: 'child' }), 'FORBIDDEN', /cannot create application credentials/);
    await expectError(script.users.setPassword({ userId: admin.user.id, password: 'a new password' }), 'FORBIDDEN', /cannot change passwords/);
  });

  it('revokes the credential and every token it issued', async () => {
    const admin = await adminSession(db.pool);
    const created = await admin.api.credentials.create({ name: 'to-revoke' });
    const login = await caller(db.pool).auth.login({ credentialId: created.id, secret: created.secret });
    const revoked = await admin.api.credentials.revoke({ id: created.id });
    expect(revoked.revokedAt).not.toBeNull();
    await expectError(caller(db.pool, { token: login.token }).auth.whoami(), 'UNAUTHORIZED', /revoked/);
    await expectError(caller(db.pool).auth.login({ credentialId: created.id, secret: created.secret }), 'UNAUTHORIZED', /to-revoke was revoked/);
    await expectError(admin.api.credentials.revoke({ id: created.id }), 'CONFLICT', /already revoked/);
    // The name is free again once revoked.
    await expect(admin.api.credentials.create({ name: 'to-revoke' })).resolves.toMatchObject({ name: 'to-revoke' });
  });

  it('expires: tokens never outlive the credential', async () => {
    const c = clock();
    const admin = await adminSession(db.pool, c);
    await expectError(
      admin.api.credentials.create({ name: 'past', expiresAt: new Date(c.now().getTime() - 1000).toISOString() }),
      'BAD_REQUEST',
      /expiresAt: must be in the future/,
    );
    const expiresAt = new Date(c.now().getTime() + 3600_000).toISOString();
    const created = await admin.api.credentials.create({ name: 'hourly', expiresAt });
    const login = await caller(db.pool, { clock: c }).auth.login({ credentialId: created.id, secret: created.secret });
    expect(login.expiresAt).toBe(expiresAt);
    c.advance(3600);
    await expectError(caller(db.pool, { token: login.token, clock: c }).auth.whoami(), 'UNAUTHORIZED', /expired/);
    await expectError(caller(db.pool, { clock: c }).auth.login({ credentialId: created.id, secret: created.secret }), 'UNAUTHORIZED', /hourly expired/);
  });

  it('stops working when its user loses the role it carries', async () => {
    const admin = await adminSession(db.pool);
    const ned = await userSession(db.pool, admin.api, { name: 'ned', project: 'neds', role: 'member' });
    const created = await ned.api.credentials.create({ name: 'deploy' });
    const login = await caller(db.pool).auth.login({ credentialId: created.id, secret: created.secret });
    await admin.api.roleAssignments.revoke({ userId: ned.user.id, project: 'neds', role: 'member' });
    await admin.api.roleAssignments.grant({ userId: ned.user.id, project: 'neds', role: 'reader' });
    await expectError(caller(db.pool, { token: login.token }).auth.whoami(), 'UNAUTHORIZED', /no longer has a role/);
    await expectError(
      caller(db.pool).auth.login({ credentialId: created.id, secret: created.secret }),
      'UNAUTHORIZED',
      /needs role member on project neds, which user ned no longer holds/,
    );
  });

  it('lists only the caller’s own credentials', async () => {
    const admin = await adminSession(db.pool);
    const olga = await userSession(db.pool, admin.api, { name: 'olga', project: 'olgas', role: 'member' });
    await olga.api.credentials.create({ name: 'olgas-key' });
    const mine = await admin.api.credentials.list();
    expect(mine.map((c) => c.name)).not.toContain('olgas-key');
    expect((await olga.api.credentials.list()).map((c) => c.name)).toEqual(['olgas-key']);
  });
});
