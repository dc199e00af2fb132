import { randomUUID } from 'node:crypto';
import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { adminSession, ADMIN_PASSWORD, caller, clock, counts, expectError, userSession } from './harness.ts';

// One schema for the whole file: every test uses its own names, and a test that changes who the
// cloud administrators are puts things back before it ends.
const db = useTestDatabase();

/** Names of the users holding role admin on the admin project. */
async function cloudAdmins(api: Awaited<ReturnType<typeof adminSession>>['api']) {
  const held = await api.roleAssignments.list({ project: 'admin' });
  return held.filter((a) => a.role === 'admin').map((a) => a.user.name);
}

/** The same message once the id in it is blanked out. */
const sameBut = (a: string, idA: string, b: string, idB: string) => expect(a.replace(idA, '<id>')).toBe(b.replace(idB, '<id>'));

describe('projects', () => {
  it('are created, listed and deleted by an administrator', async () => {
    const admin = await adminSession(db.pool);
    const created = await admin.api.projects.create({ name: 'lab', description: 'the lab' });
    expect(created).toMatchObject({ name: 'lab', description: 'the lab', isAdmin: false });
    const listed = await admin.api.projects.list();
    expect(listed.map((p) => p.name)).toEqual(expect.arrayContaining(['admin', 'lab']));
    expect(listed.find((p) => p.name === 'admin')?.isAdmin).toBe(true);
    await expect(admin.api.projects.delete({ id: created.id })).resolves.toEqual({ id: created.id });
    expect((await admin.api.projects.list()).map((p) => p.name)).not.toContain('lab');
  });

  it('refuses a duplicate name whatever its case, an unknown id, and the admin project, writing nothing', async () => {
    const admin = await adminSession(db.pool);
    await admin.api.projects.create({ name: 'Dup' });
    const adminProject = (await admin.api.projects.list()).find((p) => p.isAdmin)!;
    const unknown = randomUUID();
    const before = await counts(db.pool);
    await expectError(admin.api.projects.create({ name: 'DUP' }), 'CONFLICT', /^A project named DUP already exists$/);
    await expectError(admin.api.projects.create({ name: 'has space' }), 'BAD_REQUEST', /^Invalid input: name: must start with a letter or digit/);
    await expectError(admin.api.projects.delete({ id: adminProject.id }), 'CONFLICT', /^The admin project cannot be deleted$/);
    await expectError(admin.api.projects.delete({ id: unknown }), 'NOT_FOUND', `^Project ${unknown} not found$`);
    expect(await counts(db.pool)).toEqual(before);
  });

  it('take their role assignments with them when deleted, and the tokens scoped to them stop working', async () => {
    const admin = await adminSession(db.pool);
    const dana = await userSession(db.pool, admin.api, { name: 'dana', project: 'doomed', role: 'member' });
    await admin.api.roleAssignments.grant({ userId: dana.user.id, project: 'admin', role: 'reader' });
    await expect(dana.api.auth.whoami()).resolves.toMatchObject({ project: { name: 'doomed' } });
    const before = await counts(db.pool);
    await admin.api.projects.delete({ id: dana.project.id });
    const after = await counts(db.pool);
    expect(Number(after.projects)).toBe(Number(before.projects) - 1);
    expect(Number(after.roles)).toBe(Number(before.roles) - 1);
    expect(Number(after.tokens)).toBe(Number(before.tokens) - 1);
    const left = await admin.api.roleAssignments.list({ userId: dana.user.id });
    expect(left.map((a) => `${a.project.name}:${a.role}`)).toEqual(['admin:reader']);
    await expectError(dana.api.auth.whoami(), 'UNAUTHORIZED');
    await expectError(dana.api.projects.list(), 'UNAUTHORIZED');
  });

  it('are all listed for an administrator, and only their own for anyone else', async () => {
    const admin = await adminSession(db.pool);
    const eve = await userSession(db.pool, admin.api, { name: 'eve', project: 'eve-one', role: 'member' });
    await admin.api.projects.create({ name: 'eve-two' });
    await admin.api.projects.create({ name: 'not-eves' });
    await admin.api.roleAssignments.grant({ userId: eve.user.id, project: 'eve-two', role: 'reader' });
    expect((await eve.api.projects.list()).map((p) => p.name)).toEqual(['eve-one', 'eve-two']);
    const all = (await admin.api.projects.list()).map((p) => p.name);
    expect(all).toEqual(expect.arrayContaining(['admin', 'eve-one', 'eve-two', 'not-eves']));
  });
});

describe('users', () => {
  it('are created with a role on a project, member by default, and listed with their roles', async () => {
    const admin = await adminSession(db.pool);
    await admin.api.projects.create({ name: 'shop' });
    const fred = await admin.api.users.create({ name: 'fred', password: 'fred-password', project: 'shop', role: 'reader' });
    const gina = await admin.api.users.create({ name: 'gina', password: 'gina-password', project: 'SHOP' });
    const hal = await admin.api.users.create({ name: 'hal', password: 'hal-password' });
    const listed = await admin.api.users.list();
    const roles = (id: string) => listed.find((u) => u.id === id)?.roles.map((r) => `${r.projectName}:${r.role}`);
    expect(roles(fred.id)).toEqual(['shop:reader']);
    expect(roles(gina.id)).toEqual(['shop:member']);
    expect(roles(hal.id)).toEqual([]);
    expect(listed.find((u) => u.name === 'admin')).toMatchObject({ enabled: true, roles: [{ projectName: 'admin', role: 'admin' }] });
  });

  it('refuses a duplicate name, a role with no project, an unknown project and bad fields, writing nothing', async () => {
    const admin = await adminSession(db.pool);
    await admin.api.users.create({ name: 'ivan', password: 'ivan-password' });
    const before = await counts(db.pool);
    await expectError(admin.api.users.create({ name: 'IVAN', password: 'other-password' }), 'CONFLICT', /^A user named IVAN already exists$/);
    await expectError(
      admin.api.users.create({ name: 'ivan2', password: 'ivan-password', project: 'nowhere', role: 'member' }),
      'NOT_FOUND',
      /^Project nowhere not found$/,
    );
    await expectError(admin.api.users.create({ name: 'ivan3', password: 'ivan-password', role: 'admin' }), 'BAD_REQUEST', /role needs a project/);
    await expectError(admin.api.users.create({ name: 'ivan4', password: 'short' }), 'BAD_REQUEST', /^Invalid input: password: must be at least 8 characters$/);
    await expectError(admin.api.users.create({ name: 'ivan the great', password: 'ivan-password' }), 'BAD_REQUEST', /^Invalid input: name: must start with a letter or digit/);
    expect(await counts(db.pool)).toEqual(before);
  });

  it('are deleted with their tokens; nobody deletes themselves or an unknown user', async () => {
    const admin = await adminSession(db.pool);
    const jack = await userSession(db.pool, admin.api, { name: 'jack', project: 'jacks', role: 'member' });
    const unknown = randomUUID();
    const before = await counts(db.pool);
    await expectError(admin.api.users.delete({ id: admin.user.id }), 'CONFLICT', /^You cannot delete your own user$/);
    await expectError(admin.api.users.delete({ id: unknown }), 'NOT_FOUND', `^User ${unknown} not found$`);
    expect(await counts(db.pool)).toEqual(before);
    await expect(admin.api.users.delete({ id: jack.user.id })).resolves.toEqual({ id: jack.user.id });
    expect((await admin.api.users.list()).map((u) => u.name)).not.toContain('jack');
    await expectError(jack.api.auth.whoami(), 'UNAUTHORIZED', /Invalid token/);
    await expectError(caller(db.pool).auth.login({ username: 'jack', password: jack.password }), 'UNAUTHORIZED');
  });

  it('refuses self-deletion whatever the case of the id (Postgres compares UUIDs case-insensitively)', async () => {
    const admin = await adminSession(db.pool);
    const deputy = await userSession(db.pool, admin.api, { name: 'deputy', project: 'admin', role: 'admin' });
    try {
      const before = await counts(db.pool);
      await expectError(deputy.api.users.delete({ id: deputy.user.id.toUpperCase() }), 'CONFLICT', /cannot delete your own user/);
      expect(await counts(db.pool)).toEqual(before);
    } finally {
      if ((await admin.api.users.list()).some((u) => u.id === deputy.user.id)) await admin.api.users.delete({ id: deputy.user.id });
    }
  });

  it('let a second cloud administrator delete the first, and keep the last one', async () => {
    const admin = await adminSession(db.pool);
    const boss = await userSession(db.pool, admin.api, { name: 'boss', project: 'admin', role: 'admin' });
    await expect(boss.api.auth.whoami()).resolves.toMatchObject({ isAdmin: true });
    await boss.api.users.delete({ id: admin.user.id });
    await expectError(admin.api.auth.whoami(), 'UNAUTHORIZED', /Invalid token/);
    expect(await cloudAdmins(boss.api)).toEqual(['boss']);

    // boss is now the last cloud administrator: neither deleting the user nor revoking the role goes through.
    const before = await counts(db.pool);
    await expectError(boss.api.users.delete({ id: boss.user.id }), 'CONFLICT', /cannot delete your own user/);
    await expectError(
      boss.api.roleAssignments.revoke({ userId: boss.user.id, project: 'admin', role: 'admin' }),
      'CONFLICT',
      /^User boss is the last administrator of the admin project$/,
    );
    expect(await counts(db.pool)).toEqual(before);
    await expect(boss.api.auth.whoami()).resolves.toMatchObject({ isAdmin: true });

    // Put back the first start's admin for the other tests, and remove boss.
    await boss.api.users.create({ name: 'admin', password: ADMIN_PASSWORD, project: 'admin', role: 'admin' });
    const again = await adminSession(db.pool);
    await again.api.users.delete({ id: boss.user.id });
    expect(await cloudAdmins(again.api)).toEqual(['admin']);
  });
});

describe('users.setPassword', () => {
  it('lets a user change their own password, revoking their other tokens but not the calling one', async () => {
    const c = clock();
    const admin = await adminSession(db.pool, c);
    const kim = await userSession(db.pool, admin.api, { name: 'kim', project: 'kims', role: 'member' }, c);
    const other = await caller(db.pool, { clock: c }).auth.login({ username: 'kim', password: kim.password });
    const before = await counts(db.pool);
    await expect(kim.api.users.setPassword({ userId: kim.user.id, currentPassword: kim.password, password: 'kim-new-password' })).resolves.toEqual({
      id: kim.user.id,
    });
    expect(Number((await counts(db.pool)).revoked)).toBe(Number(before.revoked) + 1);
    await expect(kim.api.auth.whoami()).resolves.toMatchObject({ user: { name: 'kim' } });
    await expectError(caller(db.pool, { token: other.token, clock: c }).auth.whoami(), 'UNAUTHORIZED', /Token revoked/);
    await expectError(caller(db.pool, { clock: c }).auth.login({ username: 'kim', password: kim.password }), 'UNAUTHORIZED', /Invalid username or password/);
    await expect(caller(db.pool, { clock: c }).auth.login({ username: 'kim', password: 'kim-new-password' })).resolves.toMatchObject({
      user: { name: 'kim' },
    });
  });

  it('refuses a missing or wrong current password, and writes nothing', async () => {
    const admin = await adminSession(db.pool);
    const lou = await userSession(db.pool, admin.api, { name: 'lou', project: 'lous', role: 'admin' });
    const before = await counts(db.pool);
    await expectError(lou.api.users.setPassword({ userId: lou.user.id, password: 'lou-new-password' }), 'BAD_REQUEST', /^currentPassword: /);
    await expectError(
      lou.api.users.setPassword({ userId: lou.user.id, currentPassword: 'not my password', password: 'lou-new-password' }),
      'FORBIDDEN',
      /^currentPassword is not your current password$/,
    );
    expect(await counts(db.pool)).toEqual(before);
    await expect(caller(db.pool).auth.login({ username: 'lou', password: lou.password })).resolves.toMatchObject({ user: { name: 'lou' } });
  });

  it('answers a non-administrator naming another user exactly as for a user that does not exist', async () => {
    const admin = await adminSession(db.pool);
    const mo = await userSession(db.pool, admin.api, { name: 'mo', project: 'mos', role: 'admin' });
    const ned = await userSession(db.pool, admin.api, { name: 'ned', project: 'mos', role: 'member' });
    const unknown = randomUUID();
    const before = await counts(db.pool);
    const real = await expectError(mo.api.users.setPassword({ userId: ned.user.id, password: 'hijacked-password' }), 'NOT_FOUND');
    const made = await expectError(mo.api.users.setPassword({ userId: unknown, password: 'hijacked-password' }), 'NOT_FOUND');
    sameBut(real.message, ned.user.id, made.message, unknown);
    const withCurrent = await expectError(
      mo.api.users.setPassword({ userId: ned.user.id, currentPassword: ned.password, password: 'hijacked-password' }),
      'NOT_FOUND',
    );
    expect(withCurrent.message).toBe(real.message);
    expect(await counts(db.pool)).toEqual(before);
    await expect(ned.api.auth.whoami()).resolves.toMatchObject({ user: { name: 'ned' } });
  });

  it('lets an administrator reset another user’s password without the current one, revoking all their tokens', async () => {
    const admin = await adminSession(db.pool);
    const olga = await userSession(db.pool, admin.api, { name: 'olga', project: 'olgas', role: 'member' });
    await expect(admin.api.users.setPassword({ userId: olga.user.id, password: 'olga-reset-password' })).resolves.toEqual({ id: olga.user.id });
    await expectError(olga.api.auth.whoami(), 'UNAUTHORIZED', /Token revoked/);
    await expect(admin.api.auth.whoami()).resolves.toMatchObject({ isAdmin: true });
    await expectError(caller(db.pool).auth.login({ username: 'olga', password: olga.password }), 'UNAUTHORIZED');
    await expect(caller(db.pool).auth.login({ username: 'olga', password: 'olga-reset-password' })).resolves.toMatchObject({ user: { name: 'olga' } });
    const unknown = randomUUID();
    await expectError(admin.api.users.setPassword({ userId: unknown, password: 'whatever-password' }), 'NOT_FOUND', `^User ${unknown} not found$`);
  });
});

describe('role assignments', () => {
  it('are granted idempotently', async () => {
    const admin = await adminSession(db.pool);
    const pat = await admin.api.users.create({ name: 'pat', password: 'pat-password' });
    await admin.api.projects.create({ name: 'pats' });
    const first = await admin.api.roleAssignments.grant({ userId: pat.id, project: 'pats', role: 'member' });
    expect(first).toMatchObject({ user: { id: pat.id, name: 'pat' }, project: { name: 'pats' }, role: 'member' });
    const before = await counts(db.pool);
    const second = await admin.api.roleAssignments.grant({ userId: pat.id, project: 'PATS', role: 'member' });
    expect(second).toEqual(first);
    expect(await counts(db.pool)).toEqual(before);
    await expectError(admin.api.roleAssignments.grant({ userId: randomUUID(), project: 'pats', role: 'member' }), 'NOT_FOUND', /^User .* not found$/);
    await expectError(admin.api.roleAssignments.grant({ userId: pat.id, project: 'nope', role: 'member' }), 'NOT_FOUND', /^Project nope not found$/);
    expect(await counts(db.pool)).toEqual(before);
  });

  it('refuses to revoke a role not held, or the last admin role on the admin project, writing nothing', async () => {
    const admin = await adminSession(db.pool);
    const quinn = await userSession(db.pool, admin.api, { name: 'quinn', project: 'quinns', role: 'member' });
    expect(await cloudAdmins(admin.api)).toEqual(['admin']);
    const before = await counts(db.pool);
    await expectError(
      admin.api.roleAssignments.revoke({ userId: quinn.user.id, project: 'quinns', role: 'reader' }),
      'NOT_FOUND',
      /^User quinn does not hold role reader on project quinns$/,
    );
    await expectError(
      admin.api.roleAssignments.revoke({ userId: admin.user.id, project: 'admin', role: 'admin' }),
      'CONFLICT',
      /^User admin is the last administrator of the admin project$/,
    );
    expect(await counts(db.pool)).toEqual(before);
    await expect(admin.api.users.list()).resolves.toBeInstanceOf(Array);

    // With a second cloud administrator, one of the two may go.
    await admin.api.roleAssignments.grant({ userId: quinn.user.id, project: 'admin', role: 'admin' });
    await expect(admin.api.roleAssignments.revoke({ userId: quinn.user.id, project: 'admin', role: 'admin' })).resolves.toEqual({ revoked: true });
    expect(await cloudAdmins(admin.api)).toEqual(['admin']);
  });

  it('are listed by user, by project (name or id), or both', async () => {
    const admin = await adminSession(db.pool);
    const rae = await userSession(db.pool, admin.api, { name: 'rae', project: 'lf-a', role: 'member' });
    const sam = await userSession(db.pool, admin.api, { name: 'sam', project: 'lf-b', role: 'reader' });
    await admin.api.roleAssignments.grant({ userId: rae.user.id, project: 'lf-b', role: 'admin' });
    const show = (list: { user: { name: string }; project: { name: string }; role: string }[]) =>
      list.map((a) => `${a.user.name}@${a.project.name}:${a.role}`);
    expect(show(await admin.api.roleAssignments.list({ userId: rae.user.id }))).toEqual(['rae@lf-a:member', 'rae@lf-b:admin']);
    expect(show(await admin.api.roleAssignments.list({ project: 'LF-B' }))).toEqual(['rae@lf-b:admin', 'sam@lf-b:reader']);
    expect(show(await admin.api.roleAssignments.list({ project: sam.project.id }))).toEqual(['rae@lf-b:admin', 'sam@lf-b:reader']);
    expect(show(await admin.api.roleAssignments.list({ userId: sam.user.id, project: 'lf-a' }))).toEqual([]);
    const all = show(await admin.api.roleAssignments.list());
    expect(all).toEqual(expect.arrayContaining(['admin@admin:admin', 'rae@lf-a:member', 'rae@lf-b:admin', 'sam@lf-b:reader']));
    await expectError(admin.api.roleAssignments.list({ project: 'no-such' }), 'NOT_FOUND', /^Project no-such not found$/);
  });
});

describe('users.update', () => {
  it('renames, disables (stopping the user’s tokens at once) and enables again', async () => {
    const admin = await adminSession(db.pool);
    const pat = await userSession(db.pool, admin.api, { name: 'upd-pat', project: 'upd-pats', role: 'member' });
    await expect(admin.api.users.update({ id: pat.user.id, name: 'upd-patricia' })).resolves.toEqual({ id: pat.user.id, name: 'upd-patricia', enabled: true });
    await expect(pat.api.auth.whoami()).resolves.toMatchObject({ user: { name: 'upd-patricia' } });
    await admin.api.users.update({ id: pat.user.id, enabled: false });
    await expectError(pat.api.auth.whoami(), 'UNAUTHORIZED', /upd-patricia is disabled/);
    await expectError(caller(db.pool).auth.login({ username: 'upd-patricia', password: pat.password }), 'UNAUTHORIZED', /upd-patricia is disabled/);
    await admin.api.users.update({ id: pat.user.id, enabled: true });
    await expect(pat.api.auth.whoami()).resolves.toMatchObject({ user: { name: 'upd-patricia' } });
  });

  it('refuses disabling oneself, a name taken, and an unknown user, writing nothing', async () => {
    const admin = await adminSession(db.pool);
    const quinn = await userSession(db.pool, admin.api, { name: 'upd-quinn', project: 'upd-quinns', role: 'member' });
    const before = await counts(db.pool);
    await expectError(admin.api.users.update({ id: admin.user.id, enabled: false }), 'CONFLICT', /cannot disable your own user/);
    await expectError(admin.api.users.update({ id: quinn.user.id, name: 'ADMIN' }), 'CONFLICT', /A user named ADMIN already exists/);
    await expectError(admin.api.users.update({ id: '00000000-0000-4000-8000-000000000000', enabled: false }), 'NOT_FOUND', /User 00000000-0000-4000-8000-000000000000 not found/);
    expect(await counts(db.pool)).toEqual(before);
    await expect(quinn.api.auth.whoami()).resolves.toMatchObject({ user: { name: 'upd-quinn' } });
  });
});
