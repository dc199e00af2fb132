import { randomUUID } from 'node:crypto';
import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { useComputeStack } from './compute-harness.ts';
import { expectError, userSession } from './harness.ts';

const db = useTestDatabase();
// No hosts: these tests are about the groups and what servers.create records, not where servers land.
const env = useComputeStack(db, { image: 'sg-image' });

async function session(name: string, role: 'member' | 'reader' = 'member', project = name) {
  const s = await userSession(db.pool, env.stack.admin.api, { name, project, role });
  return { ...s, api: env.stack.api(s.token) };
}

const groupRows = async () => ({
  groups: (await db.pool.query('SELECT * FROM server_groups ORDER BY id')).rows,
  members: (await db.pool.query('SELECT * FROM server_group_members ORDER BY instance_id')).rows,
  instances: (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM instances')).rows[0]!.n,
});

describe('server groups', () => {
  it('are created, listed, shown with their live members (hosts for administrators only) and deleted', async () => {
    const alice = await session('sg-alice');
    const reader = await session('sg-reader', 'reader', 'sg-alice');
    const admin = env.stack.admin.api;

    const group = await alice.api.serverGroups.create({ name: 'web', policy: 'anti-affinity', maxServerPerHost: 2 });
    expect(group).toMatchObject({ name: 'web', policy: 'anti-affinity', maxServerPerHost: 2, projectId: alice.project.id, userId: alice.user.id, members: [] });
    const soft = await alice.api.serverGroups.create({ name: 'db', policy: 'soft-affinity' });
    expect(soft).toMatchObject({ policy: 'soft-affinity', maxServerPerHost: null });

    const servers = await alice.api.servers.create({ name: 'sg-web', flavorId: env.tiny, imageId: env.imageId, count: 2, serverGroupId: group.id });
    expect(servers.map((s) => s.serverGroupId)).toEqual([group.id, group.id]);
    const [first, second] = servers;
    expect((await alice.api.servers.get({ id: first!.id })).serverGroupId).toBe(group.id);

    const seen = await reader.api.serverGroups.get({ id: group.id });
    expect(seen.members.map((m) => m.name).sort()).toEqual(['sg-web-1', 'sg-web-2']);
    for (const m of seen.members) expect(m).not.toHaveProperty('host');
    const asAdmin = await admin.serverGroups.get({ id: group.id });
    for (const m of asAdmin.members) expect(m).toHaveProperty('host', null);

    expect((await reader.api.serverGroups.list()).map((g) => g.name)).toEqual(['web', 'db']);

    // A deleted server leaves its group.
    await alice.api.servers.delete({ id: second!.id });
    await db.pool.query(`UPDATE instances SET deleted_at = now(), vm_state = 'deleted' WHERE id = $1`, [second!.id]);
    expect((await alice.api.serverGroups.get({ id: group.id })).members.map((m) => m.id)).toEqual([first!.id]);

    // Deleting a group with members is allowed; the members simply leave it.
    await expect(alice.api.serverGroups.delete({ id: group.id })).resolves.toEqual({ id: group.id });
    expect((await alice.api.servers.get({ id: first!.id })).serverGroupId).toBeNull();
    await expectError(alice.api.serverGroups.get({ id: group.id }), 'NOT_FOUND', new RegExp(`^Server group ${group.id} not found$`));
    expect((await alice.api.serverGroups.list()).map((g) => g.name)).toEqual(['db']);
  });

  it('are private to their project; all projects are listed for administrators only', async () => {
    const bob = await session('sg-bob');
    const carol = await session('sg-carol');
    const reader = await session('sg-bob-reader', 'reader', 'sg-bob');
    const bobs = await bob.api.serverGroups.create({ name: 'bobs', policy: 'affinity' });
    const before = await groupRows();

    const notFound = new RegExp(`^Server group ${bobs.id} not found$`);
    await expectError(carol.api.serverGroups.get({ id: bobs.id }), 'NOT_FOUND', notFound);
    await expectError(carol.api.serverGroups.delete({ id: bobs.id }), 'NOT_FOUND', notFound);
    await expectError(carol.api.servers.create({ name: 'sg-c', flavorId: env.tiny, imageId: env.imageId, serverGroupId: bobs.id }), 'NOT_FOUND', notFound);
    expect(await carol.api.serverGroups.list()).toEqual([]);
    await expectError(carol.api.serverGroups.list({ allProjects: true }), 'FORBIDDEN', /^allProjects is for cloud administrators$/);
    await expectError(reader.api.serverGroups.create({ name: 'x', policy: 'affinity' }), 'FORBIDDEN', /^serverGroups.create needs role member on project sg-bob/);
    await expectError(reader.api.serverGroups.delete({ id: bobs.id }), 'FORBIDDEN', /^serverGroups.delete needs role member/);
    expect(await groupRows()).toEqual(before);

    const all = await env.stack.admin.api.serverGroups.list({ allProjects: true });
    expect(all.map((g) => g.id)).toContain(bobs.id);
    expect(await env.stack.admin.api.serverGroups.get({ id: bobs.id })).toMatchObject({ name: 'bobs', projectId: bob.project.id });
  });

  it('refuse bad input, naming the problem', async () => {
    const dan = await session('sg-dan');
    const before = await groupRows();
    await expectError(
      dan.api.serverGroups.create({ name: 'g', policy: 'affinity', maxServerPerHost: 2 }),
      'BAD_REQUEST',
      /^Invalid input: maxServerPerHost is for anti-affinity groups only, not affinity$/,
    );
    await expectError(dan.api.serverGroups.create({ name: 'g', policy: 'anti-affinity', maxServerPerHost: 0 }), 'BAD_REQUEST', /maxServerPerHost: must be at least 1/);
    await expectError(
      dan.api.serverGroups.create({ name: 'g', policy: 'together' as never }),
      'BAD_REQUEST',
      /policy: must be one of affinity, anti-affinity, soft-affinity, soft-anti-affinity/,
    );
    await expectError(dan.api.serverGroups.create({ name: ' ', policy: 'affinity' }), 'BAD_REQUEST', /name: must not be empty/);
    expect(await groupRows()).toEqual(before);
  });

  it('count against the serverGroups quota, and members against serverGroupMembers per group', async () => {
    const erin = await session('sg-erin');
    await env.stack.admin.api.quotas.set({ project: 'sg-erin', limits: { serverGroups: 1, serverGroupMembers: 2 } });
    const g = await erin.api.serverGroups.create({ name: 'only', policy: 'soft-anti-affinity' });
    let before = await groupRows();
    await expectError(
      erin.api.serverGroups.create({ name: 'second', policy: 'affinity' }),
      'FORBIDDEN',
      /^Quota exceeded for serverGroups: 1 requested, 1 of 1 in use \(1 over the limit\)$/,
    );
    expect(await groupRows()).toEqual(before);

    const base = { name: 'sg-e', flavorId: env.tiny, imageId: env.imageId, serverGroupId: g.id };
    await erin.api.servers.create(base);
    before = await groupRows();
    await expectError(
      erin.api.servers.create({ ...base, count: 2 }),
      'FORBIDDEN',
      /^Quota exceeded for serverGroupMembers: 2 requested, server group only has 1 of 2 \(1 over the limit\)$/,
    );
    expect(await groupRows()).toEqual(before);
    await erin.api.servers.create(base);
    expect((await erin.api.serverGroups.get({ id: g.id })).members).toHaveLength(2);
    // The same servers without the group are within quota: the member limit is per group.
    await expect(erin.api.servers.create({ ...base, serverGroupId: undefined })).resolves.toHaveLength(1);
  });
});

describe('servers.create with a zone and scheduler hints', () => {
  it('records the zone and hints asked for, and refuses unknown zones and foreign or unknown hint servers', async () => {
    const fay = await session('sg-fay');
    const gus = await session('sg-gus');
    const base = { name: 'sg-f', flavorId: env.tiny, imageId: env.imageId };
    const [anchor] = await fay.api.servers.create(base);
    const [other] = await gus.api.servers.create({ ...base, name: 'sg-g' });

    const [s] = await fay.api.servers.create({ ...base, availabilityZone: 'nova', schedulerHints: { sameHost: [anchor!.id], differentHost: [anchor!.id] } });
    expect(s).toMatchObject({ availabilityZone: 'nova', serverGroupId: null });
    const { rows } = await db.pool.query('SELECT availability_zone, scheduler_hints FROM instances WHERE id = $1', [s!.id]);
    expect(rows[0]).toEqual({ availability_zone: 'nova', scheduler_hints: { sameHost: [anchor!.id], differentHost: [anchor!.id] } });
    // Without a zone asked for: any zone, shown as none until a host is chosen.
    expect((await fay.api.servers.get({ id: anchor!.id })).availabilityZone).toBeNull();

    const before = await groupRows();
    await expectError(fay.api.servers.create({ ...base, availabilityZone: 'az9' }), 'BAD_REQUEST', /^Availability zone 'az9' does not exist; zones are: nova$/);
    await expectError(
      fay.api.servers.create({ ...base, schedulerHints: { differentHost: [other!.id] } }),
      'NOT_FOUND',
      new RegExp(`^Server ${other!.id} in schedulerHints.differentHost not found$`),
    );
    const missing = randomUUID();
    await expectError(
      fay.api.servers.create({ ...base, schedulerHints: { sameHost: [anchor!.id, missing] } }),
      'NOT_FOUND',
      new RegExp(`^Server ${missing} in schedulerHints.sameHost not found$`),
    );
    await expectError(fay.api.servers.create({ ...base, schedulerHints: { near: [] } as never }), 'BAD_REQUEST', /unknown hint near; hints are sameHost, differentHost/);
    await expectError(fay.api.servers.create({ ...base, schedulerHints: { sameHost: ['x'] } }), 'BAD_REQUEST', /schedulerHints.sameHost.0: must be an id/);
    expect(await groupRows()).toEqual(before);
  });
});
