import { useTestDatabase } from '@aster/db/testing';
import type { FakeAction } from '@aster/virt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeStack, waitFor, waitForStatus, type ComputeStack } from './compute-harness.ts';
import { expectError, userSession } from './harness.ts';
import { addHostWithApi, allocationsOf, imageEndpoint, usageMatchesAllocations, type RecordingDriver } from './host-tasks-harness.ts';

const db = useTestDatabase();
let stack: ComputeStack;
let endpoint: Awaited<ReturnType<typeof imageEndpoint>>;
let driver: RecordingDriver;
const failActions: Partial<Record<FakeAction, string>> = {};
const flavors: Record<string, string> = {};
let imageId: string;

beforeAll(async () => {
  stack = await computeStack(db);
  endpoint = await imageEndpoint(db);
  ({ driver } = await addHostWithApi(db, stack, 'rs-host-1', endpoint.url, { failActions }));
  imageId = await stack.image('rs-image');
  for (const name of ['m1.tiny', 'm1.small', 'm1.medium']) flavors[name] = await stack.flavor(name);
}, 30_000);
afterAll(async () => {
  await stack?.stop();
  await endpoint?.close();
});

const flavorOf = (name: string) => flavors[name]!;

async function member(tag: string) {
  const s = await userSession(db.pool, stack.admin.api, { name: `rs-${tag}`, project: `rs-${tag}`, role: 'member' });
  return { ...s, api: stack.api(s.token) };
}

async function activeServer(api: ReturnType<ComputeStack['api']>, name: string, flavor = 'm1.tiny') {
  const [s] = await api.servers.create({ name, flavorId: flavorOf(flavor), imageId });
  return waitForStatus(api, s!.id, 'ACTIVE');
}

const migrationsOf = async (id: string) =>
  (await db.pool.query<{ id: string; status: string }>('SELECT id, status FROM migrations WHERE instance_id = $1 ORDER BY created_at', [id])).rows;

describe('servers.resize', () => {
  it('resizes to VERIFY_RESIZE holding both flavors, and confirm keeps only the new one', async () => {
    const alice = await member('confirm');
    const s = await activeServer(alice.api, 'grow');
    const release = driver.holdTasks();
    try {
      const answered = await alice.api.servers.resize({ id: s.id, flavorId: flavorOf('m1.small') });
      expect(answered).toMatchObject({ status: 'RESIZE', taskState: 'resize_prep' });
      // The host says where it is while it works.
      await waitFor(async () => (await alice.api.servers.get({ id: s.id })).taskState === 'resize_migrating', 'the host to start the resize');
      expect(await alice.api.servers.get({ id: s.id })).toMatchObject({ status: 'RESIZE', flavor: { name: 'm1.tiny' } });
    } finally {
      release();
    }

    const resized = await waitForStatus(alice.api, s.id, 'VERIFY_RESIZE');
    expect(resized).toMatchObject({ vmState: 'resized', powerState: 'RUNNING', flavor: { name: 'm1.small', vcpus: 1, ramMb: 2048, diskGb: 20 } });
    expect(await driver.info(s.id)).toMatchObject({ vcpus: 1, ramMb: 2048 });
    const [migration] = await migrationsOf(s.id);
    expect(migration).toMatchObject({ status: 'finished' });
    // The new flavor under the server, the old one under the resize until it is confirmed.
    expect(await allocationsOf(db, [s.id, migration!.id])).toEqual({
      [s.id]: { VCPU: 1, MEMORY_MB: 2048, DISK_GB: 20 },
      [migration!.id]: { VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 },
    });

    const confirmed = await alice.api.servers.confirmResize({ id: s.id });
    expect(confirmed).toMatchObject({ status: 'ACTIVE', flavor: { name: 'm1.small' } });
    expect(await allocationsOf(db, [s.id, migration!.id])).toEqual({ [s.id]: { VCPU: 1, MEMORY_MB: 2048, DISK_GB: 20 } });
    expect(await migrationsOf(s.id)).toEqual([{ id: migration!.id, status: 'confirmed' }]);
    const history = await alice.api.servers.actions({ id: s.id });
    expect(history.map((a) => a.action)).toEqual(['create', 'resize', 'confirmResize']);
    expect(history[1]!.events.map((e) => [e.event, e.result])).toEqual([
      ['api_resize', null],
      ['compute_resize', 'Success'],
    ]);
    await expectError(alice.api.servers.confirmResize({ id: s.id }), 'CONFLICT', /Cannot confirm the resize of a server in status ACTIVE/);
    expect(await usageMatchesAllocations(db)).toBe(true);
  });

  it('revert gives back the old flavor and the old allocation; the server stays stopped if it was', async () => {
    const alice = await member('revert');
    const s = await activeServer(alice.api, 'undo');
    await alice.api.servers.stop({ id: s.id });
    await waitForStatus(alice.api, s.id, 'SHUTOFF');
    await alice.api.servers.resize({ id: s.id, flavorId: flavorOf('m1.medium') });
    const resized = await waitForStatus(alice.api, s.id, 'VERIFY_RESIZE');
    expect(resized).toMatchObject({ powerState: 'SHUTDOWN', flavor: { name: 'm1.medium', vcpus: 2 } });
    const [migration] = await migrationsOf(s.id);

    const reverting = await alice.api.servers.revertResize({ id: s.id });
    expect(reverting).toMatchObject({ status: 'REVERT_RESIZE', taskState: 'resize_reverting' });
    const reverted = await waitForStatus(alice.api, s.id, 'SHUTOFF');
    expect(reverted).toMatchObject({ vmState: 'stopped', powerState: 'SHUTDOWN', flavor: { name: 'm1.tiny', vcpus: 1, ramMb: 512, diskGb: 1 } });
    expect(await driver.info(s.id)).toMatchObject({ powerState: 4, vcpus: 1, ramMb: 512 });
    expect(await allocationsOf(db, [s.id, migration!.id])).toEqual({ [s.id]: { VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 } });
    expect(await migrationsOf(s.id)).toEqual([{ id: migration!.id, status: 'reverted' }]);
    expect((await alice.api.servers.actions({ id: s.id })).map((a) => a.action)).toEqual(['create', 'stop', 'resize', 'revertResize']);
  });

  it('refuses the same flavor, a smaller disk, a flavor over quota, and a host without room, changing nothing', async () => {
    const alice = await member('refuse');
    const s = await activeServer(alice.api, 'stay', 'm1.small');
    const before = await allocationsOf(db, [s.id]);
    await expectError(alice.api.servers.resize({ id: s.id, flavorId: flavorOf('m1.small') }), 'BAD_REQUEST', /Server stay already has flavor m1.small/);
    await expectError(
      alice.api.servers.resize({ id: s.id, flavorId: flavorOf('m1.tiny') }),
      'BAD_REQUEST',
      /Flavor m1.tiny has a 1 GB disk, smaller than the 20 GB disk of server stay \(flavor m1.small\): disks cannot shrink/,
    );
    await stack.admin.api.quotas.set({ project: alice.project.id, limits: { ramMb: 3072 } });
    await expectError(alice.api.servers.resize({ id: s.id, flavorId: flavorOf('m1.medium') }), 'FORBIDDEN', /Quota exceeded for ramMb: 2048 requested, 2048 of 3072 in use/);
    await stack.admin.api.quotas.set({ project: alice.project.id, limits: { ramMb: null } });

    // The host keeps both flavors during a resize: leave it less memory than the new flavor needs.
    const { rows } = await db.pool.query<{ total: number; used: number; reserved: number }>(
      `SELECT i.total, i.used, i.reserved FROM inventories i JOIN resource_providers p ON p.id = i.provider_id
        WHERE p.name = 'rs-host-1' AND i.resource_class = 'MEMORY_MB'`,
    );
    const inv = rows[0]!;
    const setReserved = (reserved: number) =>
      db.pool.query(
        `UPDATE inventories SET reserved = $1 WHERE resource_class = 'MEMORY_MB' AND provider_id = (SELECT id FROM resource_providers WHERE name = 'rs-host-1')`,
        [reserved],
      );
    await setReserved(inv.total - inv.used - 3000);
    try {
      await expectError(
        alice.api.servers.resize({ id: s.id, flavorId: flavorOf('m1.medium') }),
        'CONFLICT',
        /No valid host: server stay is resized on its own host, which has 3000 MB of memory free \(4096 MB needed\) while flavor m1.small stays held until the resize is confirmed/,
      );
    } finally {
      await setReserved(inv.reserved);
    }
    expect(await allocationsOf(db, [s.id])).toEqual(before);
    expect(await migrationsOf(s.id)).toEqual([]);
    expect(await alice.api.servers.get({ id: s.id })).toMatchObject({ status: 'ACTIVE', taskState: null, flavor: { name: 'm1.small' } });
  });

  it('a resize the host fails puts everything back, with a fault and an event', async () => {
    const alice = await member('fail');
    const s = await activeServer(alice.api, 'wobbly');
    failActions.resize = 'libvirt: cannot set memory: balloon driver missing';
    try {
      await alice.api.servers.resize({ id: s.id, flavorId: flavorOf('m1.small') });
      await waitFor(async () => (await migrationsOf(s.id))[0]?.status === 'error', 'the resize to fail');
    } finally {
      delete failActions.resize;
    }
    const after = await waitForStatus(alice.api, s.id, 'ACTIVE');
    expect(after).toMatchObject({ flavor: { name: 'm1.tiny' }, powerState: 'RUNNING' });
    expect(await allocationsOf(db, [s.id, (await migrationsOf(s.id))[0]!.id])).toEqual({ [s.id]: { VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 } });
    const { rows } = await db.pool.query<{ message: string }>('SELECT message FROM instance_faults WHERE instance_id = $1', [s.id]);
    expect(rows.map((r) => r.message)).toEqual(['Resize to m1.small failed: libvirt: cannot set memory: balloon driver missing']);
    const resize = (await alice.api.servers.actions({ id: s.id })).find((a) => a.action === 'resize')!;
    expect(resize.events.at(-1)).toMatchObject({ event: 'compute_resize', result: 'Error', details: 'libvirt: cannot set memory: balloon driver missing' });
    // It can be resized again.
    await alice.api.servers.resize({ id: s.id, flavorId: flavorOf('m1.small') });
    await waitForStatus(alice.api, s.id, 'VERIFY_RESIZE');
  });

  it('deleting a server that waits in VERIFY_RESIZE frees both flavors', async () => {
    const alice = await member('delete');
    const s = await activeServer(alice.api, 'gone');
    await alice.api.servers.resize({ id: s.id, flavorId: flavorOf('m1.small') });
    await waitForStatus(alice.api, s.id, 'VERIFY_RESIZE');
    const [migration] = await migrationsOf(s.id);
    await alice.api.servers.delete({ id: s.id });
    await waitFor(async () => Object.keys(await allocationsOf(db, [s.id, migration!.id])).length === 0, 'both allocations freed');
    expect(await usageMatchesAllocations(db)).toBe(true);
  });

  it('is allowed to the server’s project only, to members, and not while locked', async () => {
    const alice = await member('policy');
    const bob = await member('policy-other');
    const rita = await userSession(db.pool, stack.admin.api, { name: 'rs-rita', project: 'rs-policy', role: 'reader' });
    const s = await activeServer(alice.api, 'mine');
    const reader = stack.api(rita.token);
    for (const call of [
      (api: typeof alice.api) => api.servers.resize({ id: s.id, flavorId: flavorOf('m1.small') }),
      (api: typeof alice.api) => api.servers.confirmResize({ id: s.id }),
      (api: typeof alice.api) => api.servers.revertResize({ id: s.id }),
    ]) {
      await expectError(call(bob.api), 'NOT_FOUND', `Server ${s.id} not found`);
      await expectError(call(reader), 'FORBIDDEN', /needs role member on project rs-policy/);
    }
    await expectError(alice.api.servers.revertResize({ id: s.id }), 'CONFLICT', /Cannot revert the resize of a server in status ACTIVE/);
    await alice.api.servers.lock({ id: s.id });
    await expectError(alice.api.servers.resize({ id: s.id, flavorId: flavorOf('m1.small') }), 'CONFLICT', /locked by its project; unlock it before you resize it/);
    await alice.api.servers.unlock({ id: s.id });
    // A private flavor the project may not use does not exist for it.
    const hidden = await stack.admin.api.flavors.create({ name: 'rs-private', vcpus: 1, ramMb: 1024, diskGb: 10, isPublic: false });
    await expectError(alice.api.servers.resize({ id: s.id, flavorId: hidden.id }), 'NOT_FOUND', `Flavor ${hidden.id} not found`);
  });
});
