import { randomUUID } from 'node:crypto';
import { serverStatus, statuses, type TaskState, type VmState } from '@aster/compute';
import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { useComputeStack, waitForStatus, type ComputeStack } from './compute-harness.ts';
import { expectError, userSession } from './harness.ts';

const db = useTestDatabase();
const env = useComputeStack(db, { host: 'sl-host-1', image: 'sl-image' });

type Api = ReturnType<ComputeStack['api']>;
const exactly = (s: string) => new RegExp(`^${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

async function signIn(name: string, project: string, role: 'member' | 'reader' = 'member') {
  const s = await userSession(db.pool, env.stack.admin.api, { name, project, role });
  return { ...s, api: env.stack.api(s.token) };
}

/** A project with room for many servers. */
async function roomy(name: string) {
  const s = await signIn(name, name);
  await env.stack.admin.api.quotas.set({ project: name, limits: { instances: -1, cores: -1, ramMb: -1 } });
  return s;
}

async function activeAll(api: Api, ids: string[]) {
  for (const id of ids) await waitForStatus(api, id, 'ACTIVE');
}

/** The ids on every page of a listing, following nextMarker. */
async function pages(api: Api, input: Parameters<Api['servers']['list']>[0] & object) {
  const out: string[][] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await api.servers.list({ ...input, ...(marker ? { marker } : {}) });
    out.push(page.servers.map((s) => s.id));
    if (!page.nextMarker) return out;
    marker = page.nextMarker;
  }
}

describe('who may do what with servers', () => {
  it('lets a reader look but not touch; another project finds nothing; an administrator sees and acts on all', async () => {
    const owner = await signIn('sl-owner', 'sl-p');
    const reader = await signIn('sl-reader', 'sl-p', 'reader');
    const other = await signIn('sl-other', 'sl-q');
    const [created] = await owner.api.servers.create({ name: 'sl-guarded', flavorId: env.tiny, imageId: env.imageId });
    const id = created!.id;
    expect('host' in created!).toBe(false);
    await waitForStatus(owner.api, id, 'ACTIVE');

    expect((await reader.api.servers.list()).servers.map((s) => s.id)).toEqual([id]);
    expect((await reader.api.servers.get({ id })).name).toBe('sl-guarded');
    expect((await reader.api.servers.actions({ id })).map((a) => a.action)).toEqual(['create']);
    const watch = await reader.api.servers.watch({});
    await watch[Symbol.asyncIterator]().return?.(undefined);

    const refusedToReader: [string, () => Promise<unknown>][] = [
      ['create', () => reader.api.servers.create({ name: 'sl-no', flavorId: env.tiny, imageId: env.imageId })],
      ['update', () => reader.api.servers.update({ id, name: 'sl-no' })],
      ['delete', () => reader.api.servers.delete({ id })],
      ['start', () => reader.api.servers.start({ id })],
      ['stop', () => reader.api.servers.stop({ id })],
      ['reboot', () => reader.api.servers.reboot({ id, type: 'HARD' })],
      ['pause', () => reader.api.servers.pause({ id })],
      ['unpause', () => reader.api.servers.unpause({ id })],
      ['suspend', () => reader.api.servers.suspend({ id })],
      ['resume', () => reader.api.servers.resume({ id })],
      ['lock', () => reader.api.servers.lock({ id })],
      ['unlock', () => reader.api.servers.unlock({ id })],
      ['consoleLog', () => reader.api.servers.consoleLog({ id })],
    ];
    for (const [what, call] of refusedToReader) {
      await expectError(call(), 'FORBIDDEN', new RegExp(`^servers\\.${what} needs role member on project sl-p; you hold reader on project sl-p$`));
    }

    const hiddenFromOther: [string, () => Promise<unknown>][] = [
      ['get', () => other.api.servers.get({ id })],
      ['actions', () => other.api.servers.actions({ id })],
      ['update', () => other.api.servers.update({ id, name: 'sl-mine' })],
      ['delete', () => other.api.servers.delete({ id })],
      ['start', () => other.api.servers.start({ id })],
      ['stop', () => other.api.servers.stop({ id })],
      ['reboot', () => other.api.servers.reboot({ id })],
      ['pause', () => other.api.servers.pause({ id })],
      ['unpause', () => other.api.servers.unpause({ id })],
      ['suspend', () => other.api.servers.suspend({ id })],
      ['resume', () => other.api.servers.resume({ id })],
      ['lock', () => other.api.servers.lock({ id })],
      ['unlock', () => other.api.servers.unlock({ id })],
      ['consoleLog', () => other.api.servers.consoleLog({ id })],
    ];
    for (const [, call] of hiddenFromOther) await expectError(call(), 'NOT_FOUND', `Server ${id} not found`);
    expect((await other.api.servers.list()).servers).toEqual([]);
    expect((await owner.api.servers.get({ id })).name).toBe('sl-guarded');

    // Tenants never see the host; administrators do, across projects.
    expect('host' in (await owner.api.servers.get({ id }))).toBe(false);
    expect((await owner.api.servers.list()).servers.every((s) => !('host' in s))).toBe(true);
    expect((await env.stack.admin.api.servers.get({ id })).host).toBe('sl-host-1');
    const all = await env.stack.admin.api.servers.list({ allProjects: true, limit: 1000 });
    expect(all.servers.find((s) => s.id === id)).toMatchObject({ host: 'sl-host-1', projectId: owner.project.id });
    expect((await env.stack.admin.api.servers.list({ allProjects: true, host: 'sl-host-1', limit: 1000 })).servers.map((s) => s.id)).toContain(id);
    expect((await env.stack.admin.api.servers.list()).servers.map((s) => s.id)).not.toContain(id); // own project unless asked
    await env.stack.admin.api.servers.stop({ id });
    await waitForStatus(owner.api, id, 'SHUTOFF');
    expect((await env.stack.admin.api.servers.consoleLog({ id })).output).toContain('aster-guest');

    await expectError(owner.api.servers.list({ allProjects: true }), 'FORBIDDEN', 'allProjects is for cloud administrators');
    await expectError(owner.api.servers.list({ host: 'sl-host-1' }), 'FORBIDDEN', 'filtering by host is for cloud administrators');
  });

  it('keeps an administrator’s lock closed to the owner, even through a lock of its own', async () => {
    const owner = await signIn('sl-locked', 'sl-l');
    const [s] = await owner.api.servers.create({ name: 'sl-frozen', flavorId: env.tiny, imageId: env.imageId });
    const id = s!.id;
    await waitForStatus(owner.api, id, 'ACTIVE');
    await env.stack.admin.api.servers.lock({ id, reason: 'audit' });
    expect(await owner.api.servers.get({ id })).toMatchObject({ locked: true, lockedBy: 'admin', lockedReason: 'audit' });
    await expectError(owner.api.servers.stop({ id }), 'CONFLICT', /^Server sl-frozen is locked by an administrator \(audit\); unlock it before you stop it$/);
    await expectError(owner.api.servers.update({ id, name: 'sl-thawed' }), 'CONFLICT', /locked/);
    const refusal = /^Server sl-frozen was locked by an administrator; only an administrator can unlock it$/;
    await expectError(owner.api.servers.unlock({ id }), 'FORBIDDEN', refusal);
    // Locking again as the owner leaves the administrator's lock as it was.
    await owner.api.servers.lock({ id, reason: 'mine now' });
    expect(await owner.api.servers.get({ id })).toMatchObject({ locked: true, lockedReason: 'audit' });
    await expectError(owner.api.servers.unlock({ id }), 'FORBIDDEN', refusal);
    await env.stack.admin.api.servers.unlock({ id });
    await owner.api.servers.stop({ id });
    await waitForStatus(owner.api, id, 'SHUTOFF');

    // The owner's own lock is the owner's to lift.
    await owner.api.servers.lock({ id });
    expect(await owner.api.servers.get({ id })).toMatchObject({ locked: true, lockedBy: 'owner', lockedReason: null });
    await owner.api.servers.unlock({ id });
    expect(await owner.api.servers.get({ id })).toMatchObject({ locked: false, lockedBy: null, lockedReason: null });
  });
});

describe('servers.update', () => {
  it('renames, replaces metadata and tags, each on its own, and checks them like create', async () => {
    const u = await signIn('sl-updater', 'sl-u');
    const [s] = await u.api.servers.create({ name: 'sl-before', flavorId: env.tiny, imageId: env.imageId, metadata: { a: '1' }, tags: ['x'] });
    const id = s!.id;
    expect(await u.api.servers.update({ id, name: 'sl-after' })).toMatchObject({ name: 'sl-after', metadata: { a: '1' }, tags: ['x'] });
    expect(await u.api.servers.update({ id, metadata: { b: '2' } })).toMatchObject({ name: 'sl-after', metadata: { b: '2' }, tags: ['x'] });
    expect(await u.api.servers.update({ id, tags: [] })).toMatchObject({ metadata: { b: '2' }, tags: [] });
    expect(await u.api.servers.update({ id, metadata: {}, tags: ['y', 'z'] })).toMatchObject({ metadata: {}, tags: ['y', 'z'] });
    expect(await u.api.servers.get({ id })).toMatchObject({ name: 'sl-after', metadata: {}, tags: ['y', 'z'], hostname: 'sl-before' });

    await expectError(u.api.servers.update({ id, name: ' ' }), 'BAD_REQUEST', 'Invalid input: name: must not be empty');
    await expectError(u.api.servers.update({ id, name: 'a\tb' }), 'BAD_REQUEST', 'Invalid input: name: must not contain control characters');
    await expectError(u.api.servers.update({ id, tags: ['a,b'] }), 'BAD_REQUEST', 'Invalid input: tags.0: tags must not contain , or /');
    await expectError(u.api.servers.update({ id: randomUUID(), name: 'x' }), 'NOT_FOUND', /^Server .* not found$/);
  });
});

describe('servers.list', () => {
  it('filters by name, status, image, flavor, address and tag', async () => {
    const f = await roomy('sl-filter');
    const otherImage = await env.stack.image('sl-other-image');
    const small = await env.stack.flavor('m1.small');
    const made = [
      ...(await f.api.servers.create({ name: 'web_1', flavorId: env.tiny, imageId: env.imageId, tags: ['front'] })),
      ...(await f.api.servers.create({ name: 'WEBX1', flavorId: env.tiny, imageId: otherImage, tags: ['front', 'blue'] })),
      ...(await f.api.servers.create({ name: 'db-1', flavorId: small, imageId: env.imageId })),
    ];
    const [, webx, dbs] = made as [(typeof made)[0], (typeof made)[0], (typeof made)[0]];
    await activeAll(f.api, made.map((s) => s.id));
    await f.api.servers.stop({ id: dbs.id });
    await waitForStatus(f.api, dbs.id, 'SHUTOFF');
    const names = async (input: Parameters<Api['servers']['list']>[0]) => (await f.api.servers.list(input)).servers.map((s) => s.name).sort();

    expect(await names({ name: 'web' })).toEqual(['WEBX1', 'web_1']); // a substring, either case
    expect(await names({ name: 'b_1' })).toEqual(['web_1']); // _ and % are plain characters
    expect(await names({ name: '%' })).toEqual([]);
    expect(await names({ status: 'ACTIVE' })).toEqual(['WEBX1', 'web_1']);
    expect(await names({ status: 'SHUTOFF' })).toEqual(['db-1']);
    expect(await names({ imageId: otherImage })).toEqual(['WEBX1']);
    expect(await names({ flavorId: small })).toEqual(['db-1']);
    expect(await names({ tag: 'front' })).toEqual(['WEBX1', 'web_1']);
    expect(await names({ tag: 'blue', status: 'ACTIVE' })).toEqual(['WEBX1']);
    const ip = (await f.api.servers.get({ id: webx.id })).addresses.public![0]!.ip;
    expect(await names({ ip })).toEqual(['WEBX1']);
    expect(await names({ ip: '192.168.122.' })).toEqual(['WEBX1', 'db-1', 'web_1']);
    expect(await names({ ip: '10.' })).toEqual([]);
    await expectError(f.api.servers.list({ ip: '10.0.0.0/8' }), 'BAD_REQUEST', /^Invalid input: ip: must be an IPv4 address or its beginning/);
    await expectError(f.api.servers.list({ status: 'RUNNING' as 'ACTIVE' }), 'BAD_REQUEST', /^Invalid input: status: must be one of BUILD, ACTIVE/);
  });

  it('finds by status exactly the servers that show that status, for every vm and task state', async () => {
    const p = await roomy('sl-states');
    const pairs: [VmState, TaskState | null][] = [
      ['active', null], ['active', 'rebooting'], ['active', 'reboot_started_hard'], ['active', 'rebuilding'], ['active', 'resize_prep'],
      ['active', 'powering_off'], ['building', 'spawning'], ['stopped', null], ['stopped', 'resize_migrating'], ['stopped', 'rebuild_spawning'],
      ['resized', null], ['resized', 'resize_reverting'], ['paused', null], ['suspended', 'resuming'], ['rescued', null], ['error', null],
      ['error', 'rebuilding'], ['error', 'rebuild_spawning'], ['soft_deleted', null], ['shelved', null], ['shelved_offloaded', null],
    ];
    const made = await p.api.servers.create({ name: 'sl-st', flavorId: env.tiny, imageId: env.imageId, count: pairs.length });
    await activeAll(p.api, made.map((s) => s.id));
    for (const [i, [vm, task]] of pairs.entries()) {
      await db.pool.query(`UPDATE instances SET vm_state = $2, task_state = $3 WHERE id = $1`, [made[i]!.id, vm, task]);
    }
    for (const status of statuses.filter((s) => s !== 'DELETED')) {
      const expected = made.filter((_, i) => serverStatus(...pairs[i]!) === status).map((s) => s.id).sort();
      const listed = (await p.api.servers.list({ status, limit: 1000 })).servers;
      expect({ status, ids: listed.map((s) => s.id).sort() }).toEqual({ status, ids: expected });
      expect(listed.every((s) => s.status === status)).toBe(true);
    }
  });

  it('sorts, and pages through 25 servers 10 at a time with no repeats or gaps, in every order', async () => {
    const p = await roomy('sl-pages');
    // One create: the 25 share a creation time, so only the id breaks ties.
    const made = await p.api.servers.create({ name: 'pg', flavorId: env.tiny, imageId: env.imageId, count: 25 });
    const byName = made.map((s) => s.name).sort();
    expect((await p.api.servers.list({ sortKey: 'name', sortDir: 'asc' })).servers.map((s) => s.name)).toEqual(byName);
    expect((await p.api.servers.list({ sortKey: 'name', sortDir: 'desc' })).servers.map((s) => s.name)).toEqual([...byName].reverse());

    for (const order of [{ sortKey: 'created', sortDir: 'desc' }, { sortKey: 'created', sortDir: 'asc' }, { sortKey: 'name', sortDir: 'asc' }, { sortKey: 'name', sortDir: 'desc' }] as const) {
      const whole = (await p.api.servers.list({ ...order, limit: 100 })).servers.map((s) => s.id);
      const paged = await pages(p.api, { ...order, limit: 10 });
      expect({ order, sizes: paged.map((x) => x.length) }).toEqual({ order, sizes: [10, 10, 5] });
      expect({ order, ids: paged.flat() }).toEqual({ order, ids: whole });
      expect(new Set(paged.flat()).size).toBe(25);
    }
    // Later servers come first by default.
    const [later] = await p.api.servers.create({ name: 'pg-later', flavorId: env.tiny, imageId: env.imageId });
    expect((await p.api.servers.list({ limit: 1 })).servers[0]!.id).toBe(later!.id);
    expect((await p.api.servers.list({ sortKey: 'created', sortDir: 'asc', limit: 100 })).servers.at(-1)!.id).toBe(later!.id);

    const missing = randomUUID();
    await expectError(
      p.api.servers.list({ marker: missing }),
      'BAD_REQUEST',
      exactly(`Invalid input: marker: no server ${missing} (it may have been deleted; list again from the start)`),
    );
    // Another project's server is no marker either: its existence is not told.
    const stranger = await signIn('sl-stranger', 'sl-stranger');
    await expectError(stranger.api.servers.list({ marker: made[0]!.id }), 'BAD_REQUEST', /^Invalid input: marker: no server /);
    await expectError(p.api.servers.list({ limit: 0 }), 'BAD_REQUEST', 'Invalid input: limit: must be at least 1');
  });

  it('lists changes since a time, deleted servers included, and every project’s for an administrator', async () => {
    const c = await roomy('sl-changes');
    const made = await c.api.servers.create({ name: 'sl-ch', flavorId: env.tiny, imageId: env.imageId, count: 3 });
    const [kept, renamed, gone] = made.map((s) => s.id) as [string, string, string];
    await activeAll(c.api, made.map((s) => s.id));
    const { rows } = await db.pool.query<{ t: Date }>('SELECT clock_timestamp() AS t');
    const since = rows[0]!.t.toISOString();
    await c.api.servers.update({ id: renamed, name: 'sl-ch-new' });
    await c.api.servers.delete({ id: gone });
    await expect.poll(async () => (await c.api.servers.list({ changesSince: since })).servers.find((s) => s.id === gone)?.status, { timeout: 10_000 }).toBe('DELETED');

    const changed = (await c.api.servers.list({ changesSince: since })).servers;
    expect(changed.map((s) => s.id).sort()).toEqual([renamed, gone].sort());
    expect(changed.find((s) => s.id === gone)).toMatchObject({ vmState: 'deleted', deletedAt: expect.any(String) });
    expect((await c.api.servers.list()).servers.map((s) => s.id).sort()).toEqual([kept, renamed].sort());
    expect((await c.api.servers.list({ status: 'DELETED' })).servers.map((s) => s.id)).toEqual([gone]);
    await expectError(c.api.servers.list({ changesSince: 'yesterday' }), 'BAD_REQUEST', /^Invalid input: changesSince: /);

    const everyone = await env.stack.admin.api.servers.list({ allProjects: true, changesSince: since, limit: 1000 });
    expect(everyone.servers.map((s) => s.id)).toEqual(expect.arrayContaining([renamed, gone]));
    // An administrator pages through every project's servers too (with this file's others, several pages).
    const adminPages = await pages(env.stack.admin.api, { allProjects: true, limit: 7 });
    const allIds = (await env.stack.admin.api.servers.list({ allProjects: true, limit: 1000 })).servers.map((s) => s.id);
    expect(adminPages.flat()).toEqual(allIds);
    expect(new Set(allIds).size).toBe(allIds.length);
  });
});
