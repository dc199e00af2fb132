import { useTestDatabase } from '@aster/db/testing';
import type { FakeDriver } from '@aster/virt';
import { afterEach, describe, expect, it } from 'vitest';
import { sweep } from '../src/index.ts';
import { useComputeStack, waitFor, waitForStatus } from './compute-harness.ts';

// A build or an action that takes longer than a second is taken as lost, and the sweep is run by hand.
const db = useTestDatabase();
const env = useComputeStack(db, { image: 'bt-image', stack: { conductor: { buildTimeoutSeconds: 1 } }, tenant: { name: 'bt-bob', project: 'bt-project' } });
afterEach(() => env.stack.retireAll());

async function launch(name: string) {
  const [server] = await env.api.servers.create({ name, flavorId: env.tiny, imageId: env.imageId });
  return server!;
}

async function spawningOn(id: string, host: string) {
  await waitFor(async () => {
    const s = await env.stack.admin.api.servers.get({ id });
    return s.host === host && s.taskState === 'spawning';
  }, `the build to be spawning on ${host}`);
}

/** Counts the driver's finished spawns, so that a test can wait for a slow build to come to its end. */
function countSpawns(driver: FakeDriver): () => number {
  let finished = 0;
  const spawn = driver.spawn.bind(driver);
  driver.spawn = async (...args) => {
    try {
      return await spawn(...args);
    } finally {
      finished++;
    }
  };
  return () => finished;
}

/** The task began longer ago than the build timeout. */
const overdue = (id: string) => db.pool.query(`UPDATE instances SET task_started_at = now() - interval '5 seconds' WHERE id = $1`, [id]);

async function held(id: string) {
  const { rows } = await db.pool.query<{ allocations: number; ports: number; hosts: string[] }>(
    `SELECT (SELECT count(*) FROM allocations WHERE consumer_id = $1)::int AS allocations, (SELECT count(*) FROM ports WHERE instance_id = $1)::int AS ports,
            ARRAY(SELECT DISTINCT rp.name FROM allocations a JOIN resource_providers rp ON rp.id = a.provider_id WHERE a.consumer_id = $1) AS hosts`,
    [id],
  );
  return rows[0]!;
}

describe('a build that runs past the timeout', () => {
  it('is moved to an alternate, and the late copy on the slow host is removed without touching the server', async () => {
    const slow = await env.stack.addHost('bt-slow-a', { ramMb: 131072, spawnDelayMs: 2000 });
    const fast = await env.stack.addHost('bt-fast-b');
    const spawned = countSpawns(slow.driver);
    const server = await launch('patient');
    await spawningOn(server.id, 'bt-slow-a');
    await overdue(server.id);

    await sweep(env.stack.conductorDeps);
    await waitForStatus(env.api, server.id, 'ACTIVE');
    expect((await env.stack.admin.api.servers.get({ id: server.id })).host).toBe('bt-fast-b');
    const create = (await env.stack.admin.api.servers.actions({ id: server.id })).find((a) => a.action === 'create')!;
    expect(create.events).toContainEqual(
      expect.objectContaining({ event: 'build', result: 'Error', host: 'bt-slow-a', details: 'the build did not finish within 1 s' }),
    );

    // The slow host finishes after all; its copy belongs to nobody and is torn down.
    await expect.poll(spawned, { timeout: 10_000, interval: 20 }).toBe(1);
    await expect.poll(async () => (await slow.driver.list()).length, { timeout: 10_000, interval: 50 }).toBe(0);
    await new Promise((r) => setTimeout(r, 300)); // the teardown's own report has been applied
    const after = await env.stack.admin.api.servers.get({ id: server.id });
    expect({ status: after.status, host: after.host }).toEqual({ status: 'ACTIVE', host: 'bt-fast-b' });
    expect(await held(server.id)).toEqual({ allocations: 3, ports: 1, hosts: ['bt-fast-b'] });
    expect((await fast.driver.list()).map((i) => i.id)).toEqual([server.id]);
  });

  it('puts the server in ERROR when no alternate is left, and removes the copy that finishes later', async () => {
    const slow = await env.stack.addHost('bt-slow-c', { spawnDelayMs: 2000 });
    const spawned = countSpawns(slow.driver);
    const server = await launch('too slow');
    await spawningOn(server.id, 'bt-slow-c');
    await overdue(server.id);

    await sweep(env.stack.conductorDeps);
    const failed = await waitForStatus(env.api, server.id, 'ERROR');
    expect(failed.fault?.message).toBe('Build failed on 1 host; the last said: the build did not finish within 1 s');
    expect(await held(server.id)).toEqual({ allocations: 0, ports: 0, hosts: [] });

    await expect.poll(spawned, { timeout: 10_000, interval: 20 }).toBe(1);
    await expect.poll(async () => (await slow.driver.list()).length, { timeout: 10_000, interval: 50 }).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const after = await env.api.servers.get({ id: server.id });
    expect({ status: after.status, fault: after.fault?.message }).toEqual({ status: 'ERROR', fault: failed.fault?.message });

    // Deleting it later still works, though its host no longer has it.
    await env.api.servers.delete({ id: server.id });
    await expect
      .poll(async () => (await db.pool.query('SELECT vm_state FROM instances WHERE id = $1', [server.id])).rows[0]?.vm_state, { timeout: 10_000, interval: 50 })
      .toBe('deleted');
  });

  it('fails a build that never reached a host', async () => {
    await env.stack.addHost('bt-idle');
    const server = await launch('lost');
    await waitForStatus(env.api, server.id, 'ACTIVE');
    // As if the build had hung while its ports were made.
    await db.pool.query(`UPDATE instances SET vm_state = 'building', task_state = 'networking', task_started_at = now() - interval '5 seconds' WHERE id = $1`, [server.id]);
    await sweep(env.stack.conductorDeps);
    const failed = await waitForStatus(env.api, server.id, 'ERROR');
    expect(failed.fault?.message).toBe('Build timed out after 1 s while networking');
  });
});

describe('an action that never gets an answer', () => {
  it('has its task reverted, with a timeout event in its action', async () => {
    await env.stack.addHost('bt-lazy', { actionDelayMs: 60_000 });
    const server = await launch('sleepy');
    await waitForStatus(env.api, server.id, 'ACTIVE');
    await env.api.servers.stop({ id: server.id });
    expect((await env.api.servers.get({ id: server.id })).taskState).toBe('powering_off');
    await overdue(server.id);

    await sweep(env.stack.conductorDeps);
    const after = await env.api.servers.get({ id: server.id });
    expect({ status: after.status, taskState: after.taskState }).toEqual({ status: 'ACTIVE', taskState: null });
    const stop = (await env.api.servers.actions({ id: server.id })).find((a) => a.action === 'stop')!;
    expect(stop.finishedAt).not.toBeNull();
    expect(stop.events).toContainEqual(expect.objectContaining({ event: 'timeout', result: 'Error', details: 'no answer from the host within 1 s' }));
    expect(JSON.stringify(stop)).not.toContain('bt-lazy');
  });
});
