import { randomUUID } from 'node:crypto';
import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { flavorForProject, seedFlavors } from '../src/compute/flavors.ts';
import { adminSession, expectError, userSession } from './harness.ts';

const db = useTestDatabase();

const flavorRows = async () => (await db.pool.query('SELECT * FROM flavors ORDER BY id')).rows;
const accessRows = async () => (await db.pool.query('SELECT * FROM flavor_access ORDER BY flavor_id, project_id')).rows;

describe('seedFlavors', () => {
  // First in the file: it needs a cloud without flavors.
  it('creates the m1 flavors once, on a cloud with no flavors, and never brings a deleted one back', async () => {
    const [a, b] = await Promise.all([seedFlavors(db.pool), seedFlavors(db.pool)]);
    expect([...a!, ...b!].sort()).toEqual(['m1.large', 'm1.medium', 'm1.small', 'm1.tiny']);
    const admin = await adminSession(db.pool);
    const listed = await admin.api.flavors.list();
    expect(listed.map((f) => [f.name, f.vcpus, f.ramMb, f.diskGb, f.isPublic])).toEqual([
      ['m1.tiny', 1, 512, 1, true],
      ['m1.small', 1, 2048, 20, true],
      ['m1.medium', 2, 4096, 40, true],
      ['m1.large', 4, 8192, 80, true],
    ]);
    await admin.api.flavors.delete({ id: listed[0]!.id });
    expect(await seedFlavors(db.pool)).toEqual([]);
    expect((await admin.api.flavors.list()).map((f) => f.name)).not.toContain('m1.tiny');
  });
});

describe('flavors', () => {
  it('are created by administrators, with bounded sizes and extra specs, and names unique in any case', async () => {
    const admin = await adminSession(db.pool);
    const created = await admin.api.flavors.create({
      name: 'c2.pinned',
      description: 'dedicated cores',
      vcpus: 2,
      ramMb: 4096,
      diskGb: 0,
      extraSpecs: { 'hw:cpu_policy': 'dedicated', 'quota:cpu_shares': '2048' },
    });
    expect(created).toMatchObject({ name: 'c2.pinned', description: 'dedicated cores', vcpus: 2, ramMb: 4096, diskGb: 0, isPublic: true });
    expect(created.extraSpecs).toEqual({ 'hw:cpu_policy': 'dedicated', 'quota:cpu_shares': '2048' });
    await expect(admin.api.flavors.get({ id: created.id.toUpperCase() })).resolves.toEqual(created);

    const member = await userSession(db.pool, admin.api, { name: 'fl-member', project: 'fl-a', role: 'member' });
    const before = await flavorRows();
    const base = { name: 'x1.bad', vcpus: 1, ramMb: 512, diskGb: 1 };
    await expectError(admin.api.flavors.create({ ...base, name: 'C2.PINNED' }), 'CONFLICT', /^A flavor named C2.PINNED already exists$/);
    await expectError(admin.api.flavors.create({ ...base, vcpus: 0 }), 'BAD_REQUEST', /vcpus: must be at least 1/);
    await expectError(admin.api.flavors.create({ ...base, vcpus: 1025 }), 'BAD_REQUEST', /vcpus: must be at most 1024/);
    await expectError(admin.api.flavors.create({ ...base, vcpus: 1.5 }), 'BAD_REQUEST', /vcpus: must be a whole number/);
    await expectError(admin.api.flavors.create({ ...base, ramMb: 0 }), 'BAD_REQUEST', /ramMb: must be at least 1/);
    await expectError(admin.api.flavors.create({ ...base, ramMb: 16777217 }), 'BAD_REQUEST', /ramMb: must be at most 16777216/);
    await expectError(admin.api.flavors.create({ ...base, diskGb: -1 }), 'BAD_REQUEST', /diskGb: must be at least 0/);
    await expectError(admin.api.flavors.create({ ...base, diskGb: 1048577 }), 'BAD_REQUEST', /diskGb: must be at most 1048576/);
    await expectError(admin.api.flavors.create({ ...base, name: 'bad name' }), 'BAD_REQUEST', /name: must start with a letter or digit/);
    await expectError(admin.api.flavors.create({ ...base, extraSpecs: { 'hw cpu': 'x' } }), 'BAD_REQUEST', /extraSpecs.hw cpu: extra spec keys are/);
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    await expectError(admin.api.flavors.create({ ...base, extraSpecs: many }), 'BAD_REQUEST', /extraSpecs: must have at most 64 entries, not 65/);
    await expectError(
      admin.api.flavors.create({ ...base, extraSpecs: { 'hw:cpu_policy': 'fast', 'quota:disk_read_iops_sec': 'lots' } }),
      'BAD_REQUEST',
      /extraSpecs: hw:cpu_policy must be one of shared, dedicated, mixed, not fast; quota:disk_read_iops_sec must be a whole number/,
    );
    await expectError(member.api.flavors.create(base), 'FORBIDDEN', /flavors.create needs a cloud administrator/);
    expect(await flavorRows()).toEqual(before);
  });

  it('private ones are seen only by projects given access; administrators see all', async () => {
    const admin = await adminSession(db.pool);
    const a = await userSession(db.pool, admin.api, { name: 'pv-a', project: 'pv-a', role: 'member' });
    const b = await userSession(db.pool, admin.api, { name: 'pv-b', project: 'pv-b', role: 'reader' });
    const secret = await admin.api.flavors.create({ name: 'pv.gpu', vcpus: 8, ramMb: 1024, diskGb: 10, isPublic: false });
    const names = async (api: typeof a.api) => (await api.flavors.list()).map((f) => f.name);

    expect(await names(a.api)).not.toContain('pv.gpu');
    await expectError(a.api.flavors.get({ id: secret.id }), 'NOT_FOUND', `Flavor ${secret.id} not found`);
    expect(await names(admin.api)).toContain('pv.gpu');
    // An administrator may ask for what the admin project itself is given.
    expect((await admin.api.flavors.list({ includePrivate: false })).map((f) => f.name)).not.toContain('pv.gpu');
    await expectError(a.api.flavors.list({ includePrivate: true }), 'FORBIDDEN', /includePrivate: only a cloud administrator/);

    const shared = await admin.api.flavors.addAccess({ id: secret.id, project: 'pv-a' });
    expect(shared).toEqual({ flavor: { id: secret.id, name: 'pv.gpu' }, projects: [{ id: a.project.id, name: 'pv-a' }] });
    expect(await names(a.api)).toContain('pv.gpu');
    await expect(a.api.flavors.get({ id: secret.id })).resolves.toMatchObject({ name: 'pv.gpu', isPublic: false });
    expect(await names(b.api)).not.toContain('pv.gpu');
    await expectError(b.api.flavors.get({ id: secret.id }), 'NOT_FOUND');

    // Ordered by vcpus, then memory, then name.
    const listed = await admin.api.flavors.list();
    const keys = listed.map((f) => [f.vcpus, f.ramMb, f.name] as const);
    const sorted = [...keys].sort((x, y) => x[0] - y[0] || x[1] - y[1] || (x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : 0));
    expect(keys).toEqual(sorted);

    await expectError(a.api.flavors.get({ id: 'nope' }), 'BAD_REQUEST', /id: must be an id/);
    await expectError(a.api.flavors.get({ id: randomUUID() }), 'NOT_FOUND', /^Flavor .* not found$/);
  });

  it('access lists: by project name or id, idempotent to add, for private flavors only, administrators only', async () => {
    const admin = await adminSession(db.pool);
    const m = await userSession(db.pool, admin.api, { name: 'acc-m', project: 'acc-m', role: 'member' });
    const other = await admin.api.projects.create({ name: 'acc-other' });
    const f = await admin.api.flavors.create({ name: 'acc.private', vcpus: 1, ramMb: 256, diskGb: 1, isPublic: false });
    const pub = await admin.api.flavors.create({ name: 'acc.public', vcpus: 1, ramMb: 256, diskGb: 1 });

    expect((await admin.api.flavors.listAccess({ id: f.id })).projects).toEqual([]);
    await admin.api.flavors.addAccess({ id: f.id, project: 'ACC-M' });
    await admin.api.flavors.addAccess({ id: f.id, project: other.id });
    const again = await admin.api.flavors.addAccess({ id: f.id, project: 'acc-m' });
    expect(again.projects.map((p) => p.name)).toEqual(['acc-m', 'acc-other']);
    const removed = await admin.api.flavors.removeAccess({ id: f.id, project: other.id });
    expect(removed.projects.map((p) => p.name)).toEqual(['acc-m']);

    const before = await accessRows();
    const isPublic = /^flavor acc.public is public; access lists apply to private flavors$/;
    await expectError(admin.api.flavors.addAccess({ id: pub.id, project: 'acc-m' }), 'BAD_REQUEST', isPublic);
    await expectError(admin.api.flavors.removeAccess({ id: pub.id, project: 'acc-m' }), 'BAD_REQUEST', isPublic);
    await expectError(admin.api.flavors.listAccess({ id: pub.id }), 'BAD_REQUEST', isPublic);
    await expectError(admin.api.flavors.removeAccess({ id: f.id, project: 'acc-other' }), 'NOT_FOUND', /^Project acc-other has no access to flavor acc.private$/);
    await expectError(admin.api.flavors.addAccess({ id: f.id, project: 'acc-nobody' }), 'NOT_FOUND', /^Project acc-nobody not found$/);
    await expectError(admin.api.flavors.addAccess({ id: randomUUID(), project: 'acc-m' }), 'NOT_FOUND', /^Flavor .* not found$/);
    await expectError(admin.api.flavors.addAccess({ id: f.id, project: '' }), 'BAD_REQUEST', /project: must name a project/);
    await expectError(m.api.flavors.addAccess({ id: f.id, project: 'acc-m' }), 'FORBIDDEN', /flavors.addAccess needs a cloud administrator/);
    await expectError(m.api.flavors.removeAccess({ id: f.id, project: 'acc-m' }), 'FORBIDDEN', /flavors.removeAccess needs a cloud administrator/);
    await expectError(m.api.flavors.listAccess({ id: f.id }), 'FORBIDDEN', /flavors.listAccess needs a cloud administrator/);
    expect(await accessRows()).toEqual(before);
  });

  it('extra specs merge, lose keys set to null, or are replaced; at most 64 in all', async () => {
    const admin = await adminSession(db.pool);
    const m = await userSession(db.pool, admin.api, { name: 'es-m', project: 'es-m', role: 'member' });
    const f = await admin.api.flavors.create({ name: 'es.one', vcpus: 1, ramMb: 256, diskGb: 1, extraSpecs: { a: '1', b: '2' } });
    const merged = await admin.api.flavors.setExtraSpecs({ id: f.id, extraSpecs: { b: '3', 'hw:numa_nodes': '2' } });
    expect(merged.extraSpecs).toEqual({ a: '1', b: '3', 'hw:numa_nodes': '2' });
    const unset = await admin.api.flavors.setExtraSpecs({ id: f.id, extraSpecs: { a: null } });
    expect(unset.extraSpecs).toEqual({ b: '3', 'hw:numa_nodes': '2' });
    const replaced = await admin.api.flavors.setExtraSpecs({ id: f.id, extraSpecs: { c: '4' }, replace: true });
    expect(replaced.extraSpecs).toEqual({ c: '4' });
    await expect(admin.api.flavors.get({ id: f.id })).resolves.toMatchObject({ extraSpecs: { c: '4' } });

    const before = await flavorRows();
    const sixtyFour = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v']));
    await expectError(
      admin.api.flavors.setExtraSpecs({ id: f.id, extraSpecs: sixtyFour }),
      'BAD_REQUEST',
      /^extraSpecs: flavor es.one would have 65 extra specs; at most 64 are allowed$/,
    );
    await expectError(admin.api.flavors.setExtraSpecs({ id: f.id, extraSpecs: { 'hw:cpu_thread_policy': 'never' } }), 'BAD_REQUEST', /hw:cpu_thread_policy must be one of/);
    await expectError(admin.api.flavors.setExtraSpecs({ id: f.id, extraSpecs: { c: 'x'.repeat(256) } }), 'BAD_REQUEST', /extraSpecs.c: must be at most 255/);
    await expectError(admin.api.flavors.setExtraSpecs({ id: randomUUID(), extraSpecs: {} }), 'NOT_FOUND', /^Flavor .* not found$/);
    await expectError(m.api.flavors.setExtraSpecs({ id: f.id, extraSpecs: { d: '5' } }), 'FORBIDDEN', /flavors.setExtraSpecs needs a cloud administrator/);
    expect(await flavorRows()).toEqual(before);
    await expect(admin.api.flavors.setExtraSpecs({ id: f.id, extraSpecs: sixtyFour, replace: true })).resolves.toMatchObject({ name: 'es.one' });
  });

  it('are deleted by administrators while servers keep their own copy', async () => {
    const admin = await adminSession(db.pool);
    const m = await userSession(db.pool, admin.api, { name: 'del-m', project: 'del-m', role: 'member' });
    const f = await admin.api.flavors.create({ name: 'del.one', vcpus: 2, ramMb: 1024, diskGb: 5, isPublic: false });
    await admin.api.flavors.addAccess({ id: f.id, project: 'del-m' });
    const copy = await flavorForProject(db.pool, f.id, m.project.id, false);
    const server = randomUUID();
    await db.pool.query(
      `INSERT INTO instances (id, project_id, name, hostname, flavor_id, flavor, image_id, image, vm_state, reservation_id)
       VALUES ($1, $2, 'vm', 'vm', $3, $4, $5, '{}', 'active', 'r-1')`,
      [server, m.project.id, f.id, copy, randomUUID()],
    );

    await expectError(m.api.flavors.delete({ id: f.id }), 'FORBIDDEN', /flavors.delete needs a cloud administrator/);
    await expect(admin.api.flavors.delete({ id: f.id })).resolves.toEqual({ id: f.id, name: 'del.one' });
    await expectError(admin.api.flavors.delete({ id: f.id }), 'NOT_FOUND', `Flavor ${f.id} not found`);
    await expectError(admin.api.flavors.get({ id: f.id }), 'NOT_FOUND');
    expect(await accessRows()).not.toContainEqual(expect.objectContaining({ flavor_id: f.id }));
    const { rows } = await db.pool.query('SELECT flavor FROM instances WHERE id = $1', [server]);
    expect(rows[0].flavor).toEqual(copy);
  });
});

describe('flavor policy', () => {
  it('refuses every administrator-only flavor call to a member, a reader and a project admin, writing nothing', async () => {
    const admin = await adminSession(db.pool);
    const member = await userSession(db.pool, admin.api, { name: 'pol-member', project: 'pol', role: 'member' });
    const reader = await userSession(db.pool, admin.api, { name: 'pol-reader', project: 'pol', role: 'reader' });
    const projectAdmin = await userSession(db.pool, admin.api, { name: 'pol-admin', project: 'pol-ops', role: 'admin' });
    const f = await admin.api.flavors.create({ name: 'pol.private', vcpus: 1, ramMb: 64, diskGb: 0, isPublic: false });
    type Api = typeof member.api;
    const calls: Record<string, (api: Api) => Promise<unknown>> = {
      'flavors.create': (api) => api.flavors.create({ name: 'pol.sneaky', vcpus: 1, ramMb: 64, diskGb: 0 }),
      'flavors.delete': (api) => api.flavors.delete({ id: f.id }),
      'flavors.setExtraSpecs': (api) => api.flavors.setExtraSpecs({ id: f.id, extraSpecs: { a: 'b' } }),
      'flavors.listAccess': (api) => api.flavors.listAccess({ id: f.id }),
      'flavors.addAccess': (api) => api.flavors.addAccess({ id: f.id, project: 'pol' }),
      'flavors.removeAccess': (api) => api.flavors.removeAccess({ id: f.id, project: 'pol' }),
    };
    const before = [await flavorRows(), await accessRows()];
    for (const [session, holds] of [
      [member, 'member on project pol'],
      [reader, 'reader on project pol'],
      [projectAdmin, 'admin on project pol-ops'],
    ] as const) {
      for (const [path, call] of Object.entries(calls)) {
        await expectError(call(session.api), 'FORBIDDEN', `^${path} needs a cloud administrator \\(role admin on the admin project\\); you hold ${holds}$`);
      }
      // Reading is for everyone: the private flavor stays out of sight of a project without access.
      expect((await session.api.flavors.list()).map((x) => x.name)).not.toContain('pol.private');
      await expectError(session.api.flavors.get({ id: f.id }), 'NOT_FOUND');
    }
    expect([await flavorRows(), await accessRows()]).toEqual(before);
  });
});

describe('flavorForProject', () => {
  it('answers public flavors, private ones shared with the project, and any flavor to administrators', async () => {
    const admin = await adminSession(db.pool);
    const p = await admin.api.projects.create({ name: 'ffp-p' });
    const q = await admin.api.projects.create({ name: 'ffp-q' });
    const pub = await admin.api.flavors.create({ name: 'ffp.pub', vcpus: 1, ramMb: 128, diskGb: 1, extraSpecs: { 'hw:cpu_policy': 'shared' } });
    const priv = await admin.api.flavors.create({ name: 'ffp.priv', vcpus: 1, ramMb: 128, diskGb: 1, isPublic: false });
    await admin.api.flavors.addAccess({ id: priv.id, project: p.id });

    await expect(flavorForProject(db.pool, pub.id, q.id, false)).resolves.toEqual(pub);
    await expect(flavorForProject(db.pool, priv.id, p.id, false)).resolves.toEqual(priv);
    await expect(flavorForProject(db.pool, priv.id, q.id, true)).resolves.toEqual(priv);
    await expect(flavorForProject(db.pool, priv.id, q.id, false)).rejects.toMatchObject({ code: 'NotFound', message: `Flavor ${priv.id} not found` });
    await expect(flavorForProject(db.pool, 'm1.tiny', q.id, false)).rejects.toMatchObject({ code: 'NotFound', message: 'Flavor m1.tiny not found' });
  });
});
