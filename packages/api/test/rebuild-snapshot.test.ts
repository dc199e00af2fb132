import { randomBytes } from 'node:crypto';
import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { waitFor, waitForStatus, type ComputeStack } from './compute-harness.ts';
import { expectError, userSession } from './harness.ts';
import { useHostTasks } from './host-tasks-harness.ts';

const db = useTestDatabase();
const h = useHostTasks(db, { host: 'rb-host-1', image: 'rb-image', imageOptions: { minRamMb: 256 } });
const { failActions } = h;

async function member(tag: string) {
  const s = await userSession(db.pool, h.stack.admin.api, { name: `rb-${tag}`, project: `rb-${tag}`, role: 'member' });
  return { ...s, api: h.stack.api(s.token) };
}
type Api = ReturnType<ComputeStack['api']>;

const activeServer = h.activeServer;

/** An active image of the caller's project with real bytes, uploaded over HTTP. */
async function uploadedImage(api: Api, token: string, name: string, data: Buffer) {
  const image = await api.images.create({ name, diskFormat: 'raw' });
  const put = await fetch(`${h.endpoint.url}/v1/images/${image.id}/file`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: data });
  expect(put.status).toBe(200);
  return image.id;
}

const ipOf = (s: { addresses: Record<string, { ip: string }[]> }) => Object.values(s.addresses).flat()[0]?.ip;

describe('servers.rebuild', () => {
  it('rebuilds from another image on the same host, keeping its address, with a signed URL for the image', async () => {
    const alice = await member('ok');
    const s = await activeServer(alice.api, 'web');
    const data = randomBytes(128 * 1024);
    const newImage = await uploadedImage(alice.api, alice.token, 'web v2', data);

    const release = h.driver.holdTasks();
    try {
      const answered = await alice.api.servers.rebuild({ id: s.id, imageId: newImage, name: 'web-v2' });
      expect(answered).toMatchObject({ status: 'REBUILD', taskState: 'rebuilding', name: 'web-v2', image: { id: h.imageId } });
      await waitFor(async () => (await alice.api.servers.get({ id: s.id })).taskState === 'rebuild_spawning', 'the host to start the rebuild');
    } finally {
      release();
    }
    const rebuilt = await waitForStatus(alice.api, s.id, 'ACTIVE');
    expect(rebuilt).toMatchObject({ name: 'web-v2', hostname: s.hostname, powerState: 'RUNNING', image: { id: newImage, name: 'web v2' } });
    expect(ipOf(rebuilt)).toBe(ipOf(s));

    const spec = h.driver.specs.at(-1)!;
    expect(spec).toMatchObject({ id: s.id, name: 'web-v2', image: { id: newImage, diskFormat: 'raw', sizeBytes: data.length } });
    expect(spec.ports.map((p) => p.ip)).toEqual([ipOf(s)]);
    // The host fetches the image with the URL it was given, and no token.
    const fetched = await fetch(`${h.endpoint.url}${spec.image.downloadPath}`);
    expect(fetched.status).toBe(200);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(data)).toBe(true);

    const rebuild = (await alice.api.servers.actions({ id: s.id })).find((a) => a.action === 'rebuild')!;
    expect(rebuild.events.map((e) => [e.event, e.result])).toEqual([
      ['api_rebuild', null],
      ['compute_rebuild', 'Success'],
    ]);
  });

  it('refuses an image the project cannot see, one not active, or one that does not fit the flavor', async () => {
    const alice = await member('refuse');
    const bob = await member('refuse-other');
    const s = await activeServer(alice.api, 'picky');
    const hidden = (await bob.api.images.create({ name: 'bobs', diskFormat: 'raw' })).id;
    await expectError(alice.api.servers.rebuild({ id: s.id, imageId: hidden }), 'NOT_FOUND', `Image ${hidden} not found`);
    const queued = (await alice.api.images.create({ name: 'empty', diskFormat: 'raw' })).id;
    await expectError(alice.api.servers.rebuild({ id: s.id, imageId: queued }), 'CONFLICT', /Image empty is queued, not active/);
    const big = await h.stack.image('rb-big', { minDiskGb: 50 });
    await expectError(alice.api.servers.rebuild({ id: s.id, imageId: big }), 'BAD_REQUEST', /Flavor m1.tiny has a 1 GB disk; image rb-big needs at least 50 GB/);
    expect(await alice.api.servers.get({ id: s.id })).toMatchObject({ status: 'ACTIVE', taskState: null, name: 'picky' });
  });

  it('a rebuild the host fails leaves the server in ERROR with a fault, and it can be rebuilt from there', async () => {
    const alice = await member('fail');
    const s = await activeServer(alice.api, 'broken');
    failActions.rebuild = 'qemu-img: could not open the image';
    try {
      await alice.api.servers.rebuild({ id: s.id, imageId: h.imageId });
      const failed = await waitForStatus(alice.api, s.id, 'ERROR');
      expect(failed.fault).toMatchObject({ message: 'Rebuild from image rb-image failed: qemu-img: could not open the image' });
    } finally {
      delete failActions.rebuild;
    }
    await alice.api.servers.rebuild({ id: s.id, imageId: h.imageId });
    expect(await waitForStatus(alice.api, s.id, 'ACTIVE')).toMatchObject({ fault: null, powerState: 'RUNNING' });
  });

  it('a stopped server is rebuilt and stays stopped', async () => {
    const alice = await member('stopped');
    const s = await activeServer(alice.api, 'quiet');
    await alice.api.servers.stop({ id: s.id });
    await waitForStatus(alice.api, s.id, 'SHUTOFF');
    await alice.api.servers.rebuild({ id: s.id, imageId: h.imageId });
    await waitFor(async () => (await alice.api.servers.actions({ id: s.id })).some((a) => a.action === 'rebuild' && a.finishedAt !== null), 'the rebuild to end');
    expect(await waitForStatus(alice.api, s.id, 'SHUTOFF')).toMatchObject({ vmState: 'stopped', powerState: 'SHUTDOWN' });
  });
});

describe('servers.createImage', () => {
  it('snapshots the server into a private image of its project, active with its bytes, the server ACTIVE again', async () => {
    const alice = await member('snap');
    const s = await activeServer(alice.api, 'source');
    const { imageId: snap } = await alice.api.servers.createImage({ id: s.id, name: 'source backup', metadata: { purpose: 'backup' } });
    const right = await alice.api.images.get({ id: snap });
    expect(right).toMatchObject({
      name: 'source backup',
      visibility: 'private',
      owner: alice.project.id,
      minRamMb: 256,
      // The server's disk (m1.tiny's 1 GiB): the image it was built from asks for none.
      minDiskGb: 1,
      properties: { purpose: 'backup', image_type: 'snapshot', instance_uuid: s.id, base_image_ref: h.imageId },
    });
    await waitFor(async () => (await alice.api.images.get({ id: snap })).status === 'active', 'the snapshot to be uploaded');
    const server = await waitForStatus(alice.api, s.id, 'ACTIVE');
    expect(server.image.id).toBe(h.imageId);
    const image = await alice.api.images.get({ id: snap });
    expect(image).toMatchObject({ diskFormat: 'raw', sizeBytes: 64 * 1024, checksumSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const download = await fetch(`${h.endpoint.url}/v1/images/${snap}/file`, { headers: { authorization: `Bearer ${alice.token}` } });
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).subarray(0, 60).toString()).toContain(`fake disk of ${s.id}`);
    await waitFor(async () => (await alice.api.servers.actions({ id: s.id })).some((a) => a.action === 'createImage' && a.finishedAt !== null), 'the action to end');
    const action = (await alice.api.servers.actions({ id: s.id })).find((a) => a.action === 'createImage')!;
    expect(action.events.map((e) => [e.event, e.result])).toEqual([
      ['api_createImage', null],
      ['compute_snapshot', 'Success'],
    ]);
    // The snapshot boots like any image of the project.
    const [again] = await alice.api.servers.create({ name: 'restored', flavorId: h.tiny, imageId: snap });
    await waitForStatus(alice.api, again!.id, 'ACTIVE');
  });

  it('a snapshot of a resized server needs a disk as big as the server has now', async () => {
    const alice = await member('snapgrown');
    const s = await activeServer(alice.api, 'grown');
    const small = await h.stack.flavor('m1.small');
    await alice.api.servers.resize({ id: s.id, flavorId: small });
    await waitForStatus(alice.api, s.id, 'VERIFY_RESIZE');
    await alice.api.servers.confirmResize({ id: s.id });
    expect((await waitForStatus(alice.api, s.id, 'ACTIVE')).flavor).toMatchObject({ name: 'm1.small', diskGb: 20 });
    const { imageId: snap } = await alice.api.servers.createImage({ id: s.id, name: 'grown backup' });
    expect(await alice.api.images.get({ id: snap })).toMatchObject({ minDiskGb: 20, minRamMb: 256 });
    await waitFor(async () => (await alice.api.images.get({ id: snap })).status === 'active', 'the snapshot to be uploaded');
    // So m1.tiny's 1 GiB disk is refused for it, as its bytes would not fit.
    await expectError(alice.api.servers.create({ name: 'too small', flavorId: h.tiny, imageId: snap }), 'BAD_REQUEST', /needs at least 20 GB/);
  });

  it('a snapshot the host fails kills the image with the reason; the server stays ACTIVE with a fault and an event', async () => {
    const alice = await member('snapfail');
    const s = await activeServer(alice.api, 'full');
    failActions.snapshot = 'No space left on device';
    let snap: string;
    try {
      ({ imageId: snap } = await alice.api.servers.createImage({ id: s.id, name: 'never' }));
      await waitFor(async () => (await alice.api.images.get({ id: snap })).status === 'killed', 'the image to be killed');
    } finally {
      delete failActions.snapshot;
    }
    expect(await alice.api.images.get({ id: snap })).toMatchObject({ status: 'killed', fault: 'Snapshot failed: No space left on device' });
    expect(await waitForStatus(alice.api, s.id, 'ACTIVE')).toMatchObject({ vmState: 'active', fault: null });
    const { rows } = await db.pool.query<{ message: string }>('SELECT message FROM instance_faults WHERE instance_id = $1', [s.id]);
    expect(rows.map((r) => r.message)).toEqual(['Snapshot failed: No space left on device']);
    await waitFor(async () => (await alice.api.servers.actions({ id: s.id })).some((a) => a.action === 'createImage' && a.finishedAt !== null), 'the action to end');
    const action = (await alice.api.servers.actions({ id: s.id })).find((a) => a.action === 'createImage')!;
    expect(action.events.at(-1)).toMatchObject({ event: 'compute_snapshot', result: 'Error', details: 'No space left on device' });
  });

  it('snapshots a paused or stopped server too, and even a locked one; a snapshot being taken takes no upload from its owner', async () => {
    const alice = await member('snapstate');
    const s = await activeServer(alice.api, 'still');
    await alice.api.servers.pause({ id: s.id });
    await waitForStatus(alice.api, s.id, 'PAUSED');
    await alice.api.servers.lock({ id: s.id });
    const { imageId: snap } = await alice.api.servers.createImage({ id: s.id, name: 'paused copy' });
    await waitFor(async () => (await alice.api.images.get({ id: snap })).status === 'active', 'the snapshot to be uploaded');
    expect(await waitForStatus(alice.api, s.id, 'PAUSED')).toMatchObject({ powerState: 'PAUSED' });
    await expectError(alice.api.servers.rebuild({ id: s.id, imageId: h.imageId }), 'CONFLICT', /locked by its project; unlock it before you rebuild it/);

    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO images (name, project_id, status, disk_format, properties) VALUES ('in progress', $1, 'queued', 'qcow2', $2) RETURNING id`,
      [alice.project.id, JSON.stringify({ image_type: 'snapshot', instance_uuid: s.id })],
    );
    const put = await fetch(`${h.endpoint.url}/v1/images/${rows[0]!.id}/file`, { method: 'PUT', headers: { authorization: `Bearer ${alice.token}` }, body: randomBytes(1024) });
    expect(put.status).toBe(409);
    expect(((await put.json()) as { error: string }).error).toMatch(/is a snapshot of server .* being taken: its data comes from the server's host/);
  });

  it('rebuild and createImage are the project’s own, for members; a busy server refuses them', async () => {
    const alice = await member('policy');
    const bob = await member('policy-other');
    const rita = await userSession(db.pool, h.stack.admin.api, { name: 'rb-rita', project: 'rb-policy', role: 'reader' });
    const reader = h.stack.api(rita.token);
    const s = await activeServer(alice.api, 'guarded');
    for (const call of [(api: Api) => api.servers.rebuild({ id: s.id, imageId: h.imageId }), (api: Api) => api.servers.createImage({ id: s.id, name: 'x' })]) {
      await expectError(call(bob.api), 'NOT_FOUND', `Server ${s.id} not found`);
      await expectError(call(reader), 'FORBIDDEN', /needs role member on project rb-policy/);
    }
    await db.pool.query(`UPDATE instances SET task_state = 'powering_off' WHERE id = $1`, [s.id]);
    await expectError(alice.api.servers.createImage({ id: s.id, name: 'x' }), 'CONFLICT', /Cannot snapshot the server while it is busy powering off/);
    await expectError(alice.api.servers.rebuild({ id: s.id, imageId: h.imageId }), 'CONFLICT', /Cannot rebuild the server while it is busy powering off/);
    await db.pool.query(`UPDATE instances SET task_state = NULL WHERE id = $1`, [s.id]);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM images WHERE name = 'x'`)).rows[0]).toEqual({ n: 0 });
  });
});
