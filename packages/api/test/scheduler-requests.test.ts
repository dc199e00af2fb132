import { useTestDatabase } from '@aster/db/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { PLACED_TOGETHER, scheduleRequests } from '../src/workers/decide.ts';
import { useComputeStack, waitForStatus } from './compute-harness.ts';

// Requests the scheduler takes from its queue together are placed a few instances per transaction. No scheduler
// works the queue here: the test hands requests to it as its queue would.
const db = useTestDatabase();
const env = useComputeStack(db, {
  image: 'req-image',
  stack: { scheduling: false },
  tenant: { name: 'req-alice', project: 'req-project', unlimited: true },
});
beforeAll(async () => {
  for (const h of ['req-a', 'req-b', 'req-c']) await env.stack.addHost(h);
});

/** A create as a request: its servers, and the request id its `scheduleInstances` job carries. */
async function request(name: string, extra: { count?: number; serverGroupId?: string } = {}) {
  const servers = await env.api.servers.create({ name, flavorId: env.tiny, imageId: env.imageId, ...extra });
  const { rows } = await db.pool.query<{ request_id: string }>('SELECT request_id FROM instances WHERE id = $1', [servers[0]!.id]);
  return { servers, requestId: rows[0]!.request_id, instanceIds: servers.map((s) => s.id) };
}

/** When each server's decision ended, as its `schedule` event records it, by server id. */
async function decidedAt(ids: string[]): Promise<Map<string, number>> {
  const { rows } = await db.pool.query<{ id: string; t: Date }>(
    `SELECT a.instance_id AS id, e.finished_at AS t FROM instance_action_events e JOIN instance_actions a ON a.id = e.action_id
      WHERE a.instance_id = ANY($1::uuid[]) AND e.event = 'schedule' AND e.result = 'Success'`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.t.getTime()]));
}

describe('requests taken together', () => {
  it('are placed in one transaction, each build carrying its own request id', async () => {
    const requests = [await request('req-one'), await request('req-three', { count: 3 }), await request('req-last')];
    await scheduleRequests(env.stack.schedulerDeps, requests);
    const ids = requests.flatMap((r) => r.instanceIds);
    for (const id of ids) await waitForStatus(env.api, id, 'ACTIVE');
    const decided = await decidedAt(ids);
    expect(decided.size).toBe(5);
    expect(new Set(decided.values()).size).toBe(1);
    // Each build was sent for its own request.
    const { rows } = await db.pool.query<{ id: string; request_id: string }>(
      `SELECT data->'payload'->'instance'->>'id' AS id, data->>'requestId' AS request_id FROM ${db.schema}_boss.job
        WHERE name LIKE 'compute.%' AND data->>'job' = 'buildInstance' AND data->'payload'->'instance'->>'id' = ANY($1::text[])`,
      [ids],
    );
    expect(rows).toHaveLength(5);
    for (const r of requests) for (const id of r.instanceIds) expect(rows.find((x) => x.id === id)?.request_id).toBe(r.requestId);
  });

  it(`place at most ${PLACED_TOGETHER} instances in one transaction, and a group's members apart from the others`, async () => {
    const many = await request('req-many', { count: PLACED_TOGETHER + 2 });
    const group = await env.api.serverGroups.create({ name: 'req-spread', policy: 'anti-affinity' });
    const grouped = await request('req-grouped', { count: 3, serverGroupId: group.id });
    const after = await request('req-after');
    await scheduleRequests(env.stack.schedulerDeps, [many, grouped, after]);
    const ids = [many, grouped, after].flatMap((r) => r.instanceIds);
    for (const id of ids) await waitForStatus(env.api, id, 'ACTIVE');
    const decided = await decidedAt(ids);
    const at = (list: string[]) => new Set(list.map((id) => decided.get(id)));
    // The first sixteen together; the two left of that request alone together; the group's three together, on
    // three hosts; the last request on its own.
    expect(at(many.instanceIds.slice(0, PLACED_TOGETHER)).size).toBe(1);
    expect(at(many.instanceIds.slice(PLACED_TOGETHER)).size).toBe(1);
    expect(at(grouped.instanceIds).size).toBe(1);
    expect(new Set([...at(many.instanceIds.slice(0, PLACED_TOGETHER)), ...at(many.instanceIds.slice(PLACED_TOGETHER)), ...at(grouped.instanceIds), ...at(after.instanceIds)]).size).toBe(4);
    const hosts = await Promise.all(grouped.instanceIds.map(async (id) => (await env.stack.admin.api.servers.get({ id })).host));
    expect(new Set(hosts).size).toBe(3);
  });
});
