import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { useComputeStack, waitForStatus } from './compute-harness.ts';
import { expectError, userSession } from './harness.ts';

const db = useTestDatabase();
const env = useComputeStack(db, { host: 'lc-host-1', image: 'lc-image' });

describe('a server through its whole life, on a FakeDriver host', () => {
  it('builds, acts on every power action, keeps its history, and is deleted', async () => {
    const alice = await userSession(db.pool, env.stack.admin.api, { name: 'lc-alice', project: 'lc-web', role: 'member' });
    const api = env.stack.api(alice.token);
    const [created] = await api.servers.create({ name: 'web 1', flavorId: env.tiny, imageId: env.imageId });
    expect(created).toMatchObject({ name: 'web 1', hostname: 'web-1', status: 'BUILD', taskState: 'scheduling', vmState: 'building' });
    expect(created!.host).toBeUndefined();

    const active = await waitForStatus(api, created!.id, 'ACTIVE');
    expect(active.powerState).toBe('RUNNING');
    expect(active.addresses.public?.[0]?.ip).toMatch(/^192\.168\.122\.\d+$/);
    expect(active.addresses.public?.[0]?.mac).toMatch(/^fa:16:3e:/);
    expect((await env.stack.admin.api.servers.get({ id: created!.id })).host).toBe('lc-host-1');

    const steps: [string, () => Promise<unknown>, string, string][] = [
      ['stop', () => api.servers.stop({ id: created!.id }), 'SHUTOFF', 'SHUTDOWN'],
      ['start', () => api.servers.start({ id: created!.id }), 'ACTIVE', 'RUNNING'],
      ['soft reboot', () => api.servers.reboot({ id: created!.id, type: 'SOFT' }), 'ACTIVE', 'RUNNING'],
      ['hard reboot', () => api.servers.reboot({ id: created!.id, type: 'HARD' }), 'ACTIVE', 'RUNNING'],
      ['pause', () => api.servers.pause({ id: created!.id }), 'PAUSED', 'PAUSED'],
      ['unpause', () => api.servers.unpause({ id: created!.id }), 'ACTIVE', 'RUNNING'],
      ['suspend', () => api.servers.suspend({ id: created!.id }), 'SUSPENDED', 'SUSPENDED'],
      ['resume', () => api.servers.resume({ id: created!.id }), 'ACTIVE', 'RUNNING'],
    ];
    for (const [what, act, status, power] of steps) {
      await act();
      const after = await waitForStatus(api, created!.id, status);
      expect({ what, power: after.powerState }).toEqual({ what, power });
    }

    // Wrong state: the message names the status.
    await expectError(api.servers.unpause({ id: created!.id }), 'CONFLICT', /Cannot unpause a server in status ACTIVE/);
    await expectError(api.servers.start({ id: created!.id }), 'CONFLICT', /Cannot start a server in status ACTIVE/);

    // The console log comes from the host.
    const log = await api.servers.consoleLog({ id: created!.id, lines: 50 });
    expect(log.output).toContain(`aster-guest ready hostname=web-1 instance=${created!.id}`);

    // Locked: refused for non-admins, with the reason.
    await api.servers.lock({ id: created!.id, reason: 'release freeze' });
    await expectError(api.servers.stop({ id: created!.id }), 'CONFLICT', /is locked by its project \(release freeze\); unlock it before you stop it/);
    await expectError(api.servers.delete({ id: created!.id }), 'CONFLICT', /locked/);
    await api.servers.unlock({ id: created!.id });

    const history = await api.servers.actions({ id: created!.id });
    expect(history.map((a) => a.action)).toEqual(['create', 'stop', 'start', 'reboot', 'reboot', 'pause', 'unpause', 'suspend', 'resume', 'lock', 'unlock']);
    const create = history[0]!;
    expect(create.finishedAt).not.toBeNull();
    expect(create.events.map((e) => e.event)).toEqual(expect.arrayContaining(['schedule', 'build']));
    expect(create.events.every((e) => e.host === undefined)).toBe(true); // hosts are for admins
    expect(history.every((a) => a.finishedAt !== null)).toBe(true);

    await api.servers.delete({ id: created!.id });
    await expect
      .poll(async () => (await db.pool.query(`SELECT vm_state FROM instances WHERE id = $1`, [created!.id])).rows[0]?.vm_state, { timeout: 10_000, interval: 20 })
      .toBe('deleted');
    await expectError(api.servers.get({ id: created!.id }), 'NOT_FOUND');
    const left = await db.pool.query(
      `SELECT (SELECT count(*) FROM ports WHERE instance_id = $1)::int AS ports, (SELECT count(*) FROM allocations WHERE consumer_id = $1)::int AS allocations`,
      [created!.id],
    );
    expect(left.rows[0]).toEqual({ ports: 0, allocations: 0 });
    expect(await env.stack.hosts[0]!.driver.info(created!.id)).toBeNull();
  });

  it('follows the hypervisor: a guest that powers itself off is SHUTOFF, one removed outside Aster is ERROR saying so', async () => {
    const dan = await userSession(db.pool, env.stack.admin.api, { name: 'lc-dan', project: 'lc-truth', role: 'member' });
    const api = env.stack.api(dan.token);
    const [s] = await api.servers.create({ name: 'truth', flavorId: env.tiny, imageId: env.imageId });
    await waitForStatus(api, s!.id, 'ACTIVE');
    const driver = env.stack.hosts[0]!.driver;
    driver.simulateGuestPowerOff(s!.id);
    expect((await waitForStatus(api, s!.id, 'SHUTOFF')).powerState).toBe('SHUTDOWN');
    await api.servers.start({ id: s!.id });
    await waitForStatus(api, s!.id, 'ACTIVE');
    driver.simulateVanish(s!.id);
    const broken = await waitForStatus(api, s!.id, 'ERROR');
    expect(broken.powerState).toBe('NOSTATE');
    expect(broken.fault?.message).toBe('The virtual machine of this server is gone from its host: it was removed outside Aster');
    expect(broken.fault?.details ?? null).toBeNull(); // the host's name is for admins
    expect((await env.stack.admin.api.servers.get({ id: s!.id })).fault?.details).toContain('lc-host-1');
    await api.servers.delete({ id: s!.id });
  });

  it('a project is refused deletion while it has servers, and deleted with the records of those it had', async () => {
    const erin = await userSession(db.pool, env.stack.admin.api, { name: 'lc-erin', project: 'lc-gone', role: 'member' });
    const api = env.stack.api(erin.token);
    const [s] = await api.servers.create({ name: 'keeper', flavorId: env.tiny, imageId: env.imageId });
    await waitForStatus(api, s!.id, 'ACTIVE');
    await expectError(env.stack.admin.api.projects.delete({ id: erin.project.id }), 'CONFLICT', /^Project lc-gone still has 1 server \(keeper\): delete it first$/);
    await api.servers.delete({ id: s!.id });
    await expect
      .poll(async () => (await db.pool.query(`SELECT vm_state FROM instances WHERE id = $1`, [s!.id])).rows[0]?.vm_state, { timeout: 10_000, interval: 20 })
      .toBe('deleted');
    await expect(env.stack.admin.api.projects.delete({ id: erin.project.id })).resolves.toEqual({ id: erin.project.id });
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM instances WHERE project_id = $1`, [erin.project.id]);
    expect(rows[0]!.n).toBe(0);
  });

  it('refuses an action while the server is busy, saying with what', async () => {
    const bob = await userSession(db.pool, env.stack.admin.api, { name: 'lc-bob', project: 'lc-busy', role: 'member' });
    const api = env.stack.api(bob.token);
    const [s] = await api.servers.create({ name: 'busy', flavorId: env.tiny, imageId: env.imageId });
    await waitForStatus(api, s!.id, 'ACTIVE');
    await db.pool.query(`UPDATE instances SET vm_state = 'building', task_state = 'spawning' WHERE id = $1`, [s!.id]);
    await expectError(api.servers.stop({ id: s!.id }), 'CONFLICT', /Cannot stop the server while it is busy spawning \(status BUILD\)/);
    await db.pool.query(`UPDATE instances SET vm_state = 'active', task_state = NULL WHERE id = $1`, [s!.id]);
    await db.pool.query(`UPDATE instances SET task_state = 'powering_off' WHERE id = $1`, [s!.id]);
    await expectError(api.servers.reboot({ id: s!.id, type: 'SOFT' }), 'CONFLICT', /while it is busy powering off/);
    await db.pool.query(`UPDATE instances SET task_state = NULL WHERE id = $1`, [s!.id]);
  });
  it('with its host down: the console log says so at once, and delete removes the server without the host', async () => {
    const carol = await userSession(db.pool, env.stack.admin.api, { name: 'lc-carol', project: 'lc-down', role: 'member' });
    const api = env.stack.api(carol.token);
    const [s] = await api.servers.create({ name: 'orphan', flavorId: env.tiny, imageId: env.imageId });
    await waitForStatus(api, s!.id, 'ACTIVE');
    await db.pool.query(`UPDATE services SET last_seen_at = now() - interval '5 minutes' WHERE host = 'lc-host-1' AND binary_name = 'aster-compute'`);
    try {
      await expectError(api.servers.consoleLog({ id: s!.id }), 'CONFLICT', /cannot be read: its host is down \(no heartbeat for 60 s\)/);
      const deleted = await api.servers.delete({ id: s!.id });
      expect(deleted.status).toBe('DELETED');
      const history = await api.servers.actions({ id: s!.id }).catch(() => null);
      expect(history).toBeNull(); // gone for the tenant
      const { rows } = await db.pool.query(
        `SELECT (SELECT count(*) FROM ports WHERE instance_id = $1)::int AS ports, (SELECT count(*) FROM allocations WHERE consumer_id = $1)::int AS allocations`,
        [s!.id],
      );
      expect(rows[0]).toEqual({ ports: 0, allocations: 0 });
    } finally {
      await db.pool.query(`UPDATE services SET last_seen_at = now() WHERE host = 'lc-host-1' AND binary_name = 'aster-compute'`);
    }
  });
});
