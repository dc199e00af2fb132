import { randomBytes } from 'node:crypto';
import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { waitForStatus } from './compute-harness.ts';
import { expectError, userSession } from './harness.ts';
import { useHostTasks } from './host-tasks-harness.ts';

const db = useTestDatabase();
const h = useHostTasks(db, { host: 'rs-host-1', image: 'rs-image' });
const { failActions } = h;

async function session(tag: string, role: 'member' | 'reader' = 'member', project = `rs-${tag}`) {
  const s = await userSession(db.pool, h.stack.admin.api, { name: `rs-${tag}-${role}`, project, role });
  return { ...s, api: h.stack.api(s.token) };
}

const activeServer = h.activeServer;

const ipOf = (s: { addresses: Record<string, { ip: string }[]> }) => Object.values(s.addresses).flat()[0]?.ip;

describe('servers.rescue and servers.unrescue', () => {
  it('rescue boots the rescue image with the same address, RESCUE; unrescue goes back to ACTIVE; both in the history', async () => {
    const alice = await session('ok');
    const s = await activeServer(alice.api, 'broken-fstab');
    const data = randomBytes(64 * 1024);
    const image = await alice.api.images.create({ name: 'rescue kit', diskFormat: 'raw' });
    const put = await fetch(`${h.endpoint.url}/v1/images/${image.id}/file`, { method: 'PUT', headers: { authorization: `Bearer ${alice.token}` }, body: data });
    expect(put.status).toBe(200);

    const answered = await alice.api.servers.rescue({ id: s.id, imageId: image.id });
    expect(answered).toMatchObject({ status: 'ACTIVE', taskState: 'rescuing' });
    const rescued = await waitForStatus(alice.api, s.id, 'RESCUE');
    // The server keeps its own image; the rescue image is only what the host boots meanwhile.
    expect(rescued).toMatchObject({ vmState: 'rescued', powerState: 'RUNNING', image: { id: h.imageId }, fault: null });
    expect(ipOf(rescued)).toBe(ipOf(s));
    expect(h.driver.rescuedFrom(s.id)).toBe('rescue kit');
    const spec = h.driver.specs.at(-1)!;
    expect(spec).toMatchObject({ id: s.id, image: { id: image.id, diskFormat: 'raw', sizeBytes: data.length } });
    expect(spec.ports.map((p) => p.ip)).toEqual([ipOf(s)]);
    const fetched = await fetch(`${h.endpoint.url}${spec.image.downloadPath}`);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(data)).toBe(true);

    await expectError(alice.api.servers.rescue({ id: s.id }), 'CONFLICT', /Cannot rescue a server in status RESCUE \(allowed from vm state active, stopped, error\)/);
    expect(await alice.api.servers.unrescue({ id: s.id })).toMatchObject({ status: 'RESCUE', taskState: 'unrescuing' });
    expect(await waitForStatus(alice.api, s.id, 'ACTIVE')).toMatchObject({ vmState: 'active', powerState: 'RUNNING' });
    expect(h.driver.rescuedFrom(s.id)).toBeNull();

    const history = (await alice.api.servers.actions({ id: s.id })).filter((a) => a.action === 'rescue' || a.action === 'unrescue');
    expect(history.map((a) => [a.action, a.finishedAt !== null, a.events.map((e) => [e.event, e.result])])).toEqual([
      ['rescue', true, [['api_rescue', null], ['compute_rescue', 'Success']]],
      ['unrescue', true, [['api_unrescue', null], ['compute_unrescue', 'Success']]],
    ]);
  });

  it('a stopped server is rescued from its own image and runs; unrescue leaves it ACTIVE', async () => {
    const alice = await session('stopped');
    const s = await activeServer(alice.api, 'quiet');
    await alice.api.servers.stop({ id: s.id });
    await waitForStatus(alice.api, s.id, 'SHUTOFF');
    await alice.api.servers.rescue({ id: s.id });
    expect(await waitForStatus(alice.api, s.id, 'RESCUE')).toMatchObject({ powerState: 'RUNNING' });
    expect(h.driver.specs.at(-1)).toMatchObject({ id: s.id, image: { id: h.imageId, name: 'rs-image' } });
    await alice.api.servers.unrescue({ id: s.id });
    expect(await waitForStatus(alice.api, s.id, 'ACTIVE')).toMatchObject({ powerState: 'RUNNING' });
  });

  it('is refused from PAUSED, unrescue from ACTIVE, each naming the status', async () => {
    const alice = await session('paused');
    const s = await activeServer(alice.api, 'sleepy');
    await expectError(alice.api.servers.unrescue({ id: s.id }), 'CONFLICT', /Cannot unrescue a server in status ACTIVE \(allowed from vm state rescued\)/);
    await alice.api.servers.pause({ id: s.id });
    await waitForStatus(alice.api, s.id, 'PAUSED');
    await expectError(alice.api.servers.rescue({ id: s.id }), 'CONFLICT', /Cannot rescue a server in status PAUSED \(allowed from vm state active, stopped, error\)/);
    expect(await alice.api.servers.get({ id: s.id })).toMatchObject({ status: 'PAUSED', taskState: null });
  });

  it("refuses another project's private image and one not active, changing nothing", async () => {
    const alice = await session('image');
    const bob = await session('image-other');
    const s = await activeServer(alice.api, 'picky');
    const hidden = (await bob.api.images.create({ name: 'bobs', diskFormat: 'raw' })).id;
    await expectError(alice.api.servers.rescue({ id: s.id, imageId: hidden }), 'NOT_FOUND', `Image ${hidden} not found`);
    const queued = (await alice.api.images.create({ name: 'empty', diskFormat: 'raw' })).id;
    await expectError(alice.api.servers.rescue({ id: s.id, imageId: queued }), 'CONFLICT', /Image empty is queued, not active/);
    expect(await alice.api.servers.get({ id: s.id })).toMatchObject({ status: 'ACTIVE', taskState: null });
    expect((await alice.api.servers.actions({ id: s.id })).some((a) => a.action === 'rescue')).toBe(false);
  });

  it('another project sees no such server; a reader may not rescue', async () => {
    const alice = await session('policy');
    const s = await activeServer(alice.api, 'mine');
    const mallory = await session('policy-other');
    await expectError(mallory.api.servers.rescue({ id: s.id }), 'NOT_FOUND', `Server ${s.id} not found`);
    await expectError(mallory.api.servers.unrescue({ id: s.id }), 'NOT_FOUND', `Server ${s.id} not found`);
    const reader = await session('policy', 'reader', 'rs-policy');
    await expectError(reader.api.servers.rescue({ id: s.id }), 'FORBIDDEN', /servers.rescue needs role member/);
    await expectError(reader.api.servers.unrescue({ id: s.id }), 'FORBIDDEN', /servers.unrescue needs role member/);
    expect(await alice.api.servers.get({ id: s.id })).toMatchObject({ status: 'ACTIVE', taskState: null });
  });

  it('a rescue or unrescue the host fails leaves the server as it was, with a fault', async () => {
    const alice = await session('fail');
    const s = await activeServer(alice.api, 'unlucky');
    failActions.rescue = 'qemu-img: could not open the rescue image';
    try {
      await alice.api.servers.rescue({ id: s.id });
      await waitForStatus(alice.api, s.id, 'ACTIVE');
    } finally {
      delete failActions.rescue;
    }
    const rescue = (await alice.api.servers.actions({ id: s.id })).find((a) => a.action === 'rescue')!;
    expect(rescue.events.map((e) => [e.event, e.result, e.details])).toEqual([
      ['api_rescue', null, null],
      ['compute_rescue', 'Error', 'qemu-img: could not open the rescue image'],
    ]);
    await alice.api.servers.rescue({ id: s.id });
    await waitForStatus(alice.api, s.id, 'RESCUE');
    failActions.unrescue = 'libvirt: domain definition refused';
    try {
      await alice.api.servers.unrescue({ id: s.id });
      await waitForStatus(alice.api, s.id, 'RESCUE');
    } finally {
      delete failActions.unrescue;
    }
    const unrescue = (await alice.api.servers.actions({ id: s.id })).find((a) => a.action === 'unrescue')!;
    expect(unrescue.events.at(-1)).toMatchObject({ event: 'compute_unrescue', result: 'Error', details: 'libvirt: domain definition refused' });
    const { rows } = await db.pool.query<{ message: string }>('SELECT message FROM instance_faults WHERE instance_id = $1 ORDER BY id', [s.id]);
    expect(rows.map((r) => r.message)).toEqual([
      'Rescue from image rs-image failed: qemu-img: could not open the rescue image',
      'Unrescue failed: libvirt: domain definition refused',
    ]);
  });
});
