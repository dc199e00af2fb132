import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { useTestDatabase } from '@aster/db/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { FileImageStore } from '../src/index.ts';
import { adminSession, caller, expectError, userSession } from './harness.ts';

const db = useTestDatabase();
const imageDir = mkdtempSync(join(tmpdir(), 'aster-images-'));
afterAll(() => rmSync(imageDir, { recursive: true, force: true }));

/** A cloud admin, a member and a reader of one project, and a member of another. */
async function people(tag: string) {
  const admin = await adminSession(db.pool);
  const alice = await userSession(db.pool, admin.api, { name: `alice-${tag}`, project: `team-${tag}`, role: 'member' });
  const rita = await userSession(db.pool, admin.api, { name: `rita-${tag}`, project: `team-${tag}`, role: 'reader' });
  const bob = await userSession(db.pool, admin.api, { name: `bob-${tag}`, project: `other-${tag}`, role: 'member' });
  return { admin, alice, rita, bob };
}

describe('images.create and images.get', () => {
  it('creates a queued image owned by the caller’s project, with defaults', async () => {
    const { alice, rita } = await people('create');
    const made = await alice.api.images.create({ name: 'Debian 12 (bookworm)', diskFormat: 'qcow2', properties: { hw_disk_bus: 'virtio', os_distro: 'debian' } });
    expect(made).toEqual({
      id: expect.any(String),
      name: 'Debian 12 (bookworm)',
      status: 'queued',
      visibility: 'private',
      diskFormat: 'qcow2',
      sizeBytes: null,
      virtualSize: null,
      checksumSha256: null,
      minRamMb: 0,
      minDiskGb: 0,
      properties: { hw_disk_bus: 'virtio', os_distro: 'debian' },
      protected: false,
      owner: alice.project.id,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      fault: null,
    });
    // A reader of the same project sees it, but cannot create one.
    await expect(rita.api.images.get({ id: made.id })).resolves.toEqual(made);
    await expectError(rita.api.images.create({ name: 'nope', diskFormat: 'raw' }), 'FORBIDDEN', /images.create needs role member on project team-create/);
  });

  it('validates names, formats, sizes and properties with messages that name the problem', async () => {
    const { alice } = await people('valid');
    const before = await db.pool.query('SELECT count(*) FROM images');
    await expectError(alice.api.images.create({ name: '  ', diskFormat: 'raw' }), 'BAD_REQUEST', /name: must not be empty/);
    await expectError(alice.api.images.create({ name: 'x', diskFormat: 'vmdk' as 'raw' }), 'BAD_REQUEST', /diskFormat: must be one of qcow2, raw, iso/);
    await expectError(alice.api.images.create({ name: 'x', diskFormat: 'raw', minRamMb: -1 }), 'BAD_REQUEST', /minRamMb: must not be negative/);
    await expectError(alice.api.images.create({ name: 'x', diskFormat: 'raw', minDiskGb: 1.5 }), 'BAD_REQUEST', /minDiskGb: must be a whole number of GB/);
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`p${i}`, 'v']));
    await expectError(alice.api.images.create({ name: 'x', diskFormat: 'raw', properties: many }), 'BAD_REQUEST', /properties: at most 64 properties \(got 65\)/);
    await expectError(alice.api.images.create({ name: 'x', diskFormat: 'raw', properties: { 'bad key': 'v' } }), 'BAD_REQUEST', /properties.bad key: a property name may use only/);
    await expectError(alice.api.images.create({ name: 'x', diskFormat: 'raw', properties: { ['k'.repeat(256)]: 'v' } }), 'BAD_REQUEST', /a property name must be 1 to 255 characters/);
    await expectError(alice.api.images.create({ name: 'x', diskFormat: 'raw', properties: { os_type: 'v'.repeat(256) } }), 'BAD_REQUEST', /properties.os_type: must be at most 255 characters/);
    const sixtyFour = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`hw_p${i}`, 'v'.repeat(255)]));
    await expect(alice.api.images.create({ name: 'full', diskFormat: 'raw', properties: sixtyFour })).resolves.toMatchObject({ name: 'full' });
    const after = await db.pool.query('SELECT count(*) FROM images');
    expect(Number(after.rows[0].count)).toBe(Number(before.rows[0].count) + 1);
  });

  it('makes images public only for cloud administrators', async () => {
    const { admin, alice, bob } = await people('public');
    await expectError(alice.api.images.create({ name: 'mine', diskFormat: 'raw', visibility: 'public' }), 'FORBIDDEN', /only cloud administrators may make an image public/);
    const pub = await admin.api.images.create({ name: 'cirros-public', diskFormat: 'qcow2', visibility: 'public' });
    expect(pub).toMatchObject({ visibility: 'public', owner: admin.project.id });
    await expect(bob.api.images.get({ id: pub.id })).resolves.toMatchObject({ name: 'cirros-public' });
    const priv = await alice.api.images.create({ name: 'alice-private', diskFormat: 'raw' });
    await expectError(alice.api.images.update({ id: priv.id, visibility: 'public' }), 'FORBIDDEN', /only cloud administrators/);
    await expect(admin.api.images.update({ id: priv.id, visibility: 'public' })).resolves.toMatchObject({ visibility: 'public' });
  });

  it('answers NotFound for another project’s private image, the same as for a missing one', async () => {
    const { admin, alice, bob } = await people('hidden');
    const secret = await alice.api.images.create({ name: 'secret', diskFormat: 'raw' });
    const missing = '00000000-0000-4000-8000-000000000000';
    await expectError(bob.api.images.get({ id: secret.id }), 'NOT_FOUND', `Image ${secret.id} not found`);
    await expectError(bob.api.images.get({ id: missing }), 'NOT_FOUND', `Image ${missing} not found`);
    await expectError(bob.api.images.update({ id: secret.id, name: 'mine' }), 'NOT_FOUND');
    await expectError(bob.api.images.delete({ id: secret.id }), 'NOT_FOUND');
    await expectError(bob.api.images.addMember({ id: secret.id, project: bob.project.name }), 'NOT_FOUND');
    // A cloud administrator sees and manages every image.
    await expect(admin.api.images.get({ id: secret.id })).resolves.toMatchObject({ name: 'secret' });
  });
});

describe('images.list', () => {
  it('lists own, public and shared-with-me images; filters by name, status and visibility', async () => {
    const { admin, alice, rita, bob } = await people('list');
    const own = await alice.api.images.create({ name: 'own', diskFormat: 'raw' });
    const shared = await alice.api.images.create({ name: 'shared', diskFormat: 'raw', visibility: 'shared' });
    const pub = await admin.api.images.create({ name: 'pub-list', diskFormat: 'iso', visibility: 'public' });
    const bobs = await bob.api.images.create({ name: 'bobs', diskFormat: 'raw' });

    const names = async (api: typeof alice.api, input?: Parameters<typeof alice.api.images.list>[0]) =>
      (await api.images.list(input)).map((i) => i.id);
    expect(await names(alice.api)).toEqual(expect.arrayContaining([own.id, shared.id, pub.id]));
    expect(await names(alice.api)).not.toContain(bobs.id);
    expect(await names(rita.api)).toEqual(expect.arrayContaining([own.id, shared.id]));
    expect(await names(bob.api)).toEqual(expect.arrayContaining([bobs.id, pub.id]));
    expect(await names(bob.api)).not.toContain(shared.id);

    await alice.api.images.addMember({ id: shared.id, project: bob.project.name });
    expect(await names(bob.api)).toContain(shared.id);
    await expect(bob.api.images.get({ id: shared.id })).resolves.toMatchObject({ name: 'shared' });
    expect(await names(bob.api, { visibility: 'shared' })).toEqual([shared.id]);
    await alice.api.images.removeMember({ id: shared.id, project: bob.project.id });
    expect(await names(bob.api)).not.toContain(shared.id);
    await expectError(bob.api.images.get({ id: shared.id }), 'NOT_FOUND');

    expect(await names(alice.api, { name: 'own' })).toEqual([own.id]);
    expect(await names(alice.api, { status: 'active' })).not.toContain(own.id);
    expect(await names(alice.api, { status: 'queued', visibility: 'private' })).toEqual([own.id]);
  });

  it('shows every project’s images to a cloud administrator with allProjects, and to no one else', async () => {
    const { admin, alice, bob } = await people('all');
    const bobs = await bob.api.images.create({ name: 'bobs-all', diskFormat: 'raw' });
    expect((await admin.api.images.list()).map((i) => i.id)).not.toContain(bobs.id);
    expect((await admin.api.images.list({ allProjects: true })).map((i) => i.id)).toContain(bobs.id);
    await expectError(alice.api.images.list({ allProjects: true }), 'FORBIDDEN', /allProjects: only cloud administrators/);
  });
});

describe('images.update and images.delete', () => {
  it('changes what is given, by the owner; properties are replaced whole', async () => {
    const { alice, rita } = await people('update');
    const made = await alice.api.images.create({ name: 'base', diskFormat: 'qcow2', properties: { os_distro: 'debian', hw_rng_model: 'virtio' } });
    const changed = await alice.api.images.update({ id: made.id, name: 'renamed', minRamMb: 512, minDiskGb: 2, properties: { os_distro: 'ubuntu' } });
    expect(changed).toMatchObject({ name: 'renamed', minRamMb: 512, minDiskGb: 2, properties: { os_distro: 'ubuntu' }, diskFormat: 'qcow2', visibility: 'private' });
    expect(changed.properties).not.toHaveProperty('hw_rng_model');
    expect(new Date(changed.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(made.updatedAt).getTime());
    await expect(alice.api.images.update({ id: made.id, protected: true })).resolves.toMatchObject({ name: 'renamed', protected: true });
    await expectError(rita.api.images.update({ id: made.id, name: 'by-reader' }), 'FORBIDDEN', /images.update needs role member/);
  });

  it('lets other projects see a public image but not change it', async () => {
    const { admin, bob } = await people('foreign');
    const pub = await admin.api.images.create({ name: 'pub-foreign', diskFormat: 'raw', visibility: 'public' });
    await expectError(bob.api.images.update({ id: pub.id, name: 'hijacked' }), 'FORBIDDEN', /belongs to another project: only its owner may change it/);
    await expectError(bob.api.images.delete({ id: pub.id }), 'FORBIDDEN', /only its owner may delete it/);
  });

  it('refuses to delete a protected image, and deletes the image and its data otherwise', async () => {
    const { alice } = await people('delete');
    const api = caller(db.pool, { token: alice.token, config: { imageDir } });
    const made = await api.images.create({ name: 'keep-me', diskFormat: 'raw', protected: true });
    const store = new FileImageStore(imageDir);
    await store.write(made.id, Readable.from([Buffer.from('disk bytes')]));
    await expectError(api.images.delete({ id: made.id }), 'CONFLICT', /keep-me .* is protected: set protected to false before deleting it/);
    expect(await store.exists(made.id)).toBe(true);
    await api.images.update({ id: made.id, protected: false });
    await expect(api.images.delete({ id: made.id })).resolves.toEqual({ id: made.id });
    expect(await store.exists(made.id)).toBe(false);
    await expectError(api.images.get({ id: made.id }), 'NOT_FOUND');
    await expectError(api.images.delete({ id: made.id }), 'NOT_FOUND');
  });
});

describe('image members', () => {
  it('shares only shared images, with other existing projects, once', async () => {
    const { alice, rita, bob } = await people('members');
    const priv = await alice.api.images.create({ name: 'priv', diskFormat: 'raw' });
    await expectError(alice.api.images.addMember({ id: priv.id, project: bob.project.name }), 'CONFLICT', /priv is private: only images with visibility shared have members/);
    const shared = await alice.api.images.create({ name: 'to-share', diskFormat: 'raw', visibility: 'shared' });
    await expect(alice.api.images.addMember({ id: shared.id, project: bob.project.name })).resolves.toEqual({
      imageId: shared.id,
      project: { id: bob.project.id, name: bob.project.name },
    });
    await expectError(alice.api.images.addMember({ id: shared.id, project: bob.project.id }), 'CONFLICT', /already a member of image to-share/);
    await expectError(alice.api.images.addMember({ id: shared.id, project: alice.project.name }), 'BAD_REQUEST', /owns image to-share; members are other projects/);
    await expectError(alice.api.images.addMember({ id: shared.id, project: 'no-such-project' }), 'NOT_FOUND', /Project no-such-project not found/);
    await expectError(rita.api.images.addMember({ id: shared.id, project: bob.project.name }), 'FORBIDDEN', /images.addMember needs role member/);
    // The owner's project lists its members, readers included; a member project does not.
    await expect(rita.api.images.listMembers({ id: shared.id })).resolves.toEqual([{ imageId: shared.id, project: { id: bob.project.id, name: bob.project.name } }]);
    await expectError(bob.api.images.listMembers({ id: shared.id }), 'FORBIDDEN', /only its owner may share it/);
    // A member project sees the image but does not manage its members.
    await expectError(bob.api.images.removeMember({ id: shared.id, project: bob.project.name }), 'FORBIDDEN', /only its owner may share it/);
    await alice.api.images.removeMember({ id: shared.id, project: bob.project.name });
    await expect(alice.api.images.listMembers({ id: shared.id })).resolves.toEqual([]);
    await expectError(alice.api.images.removeMember({ id: shared.id, project: bob.project.name }), 'NOT_FOUND', /is not a member of image to-share/);
  });
});
