import { randomBytes } from 'node:crypto';
import { createAsterClient, login, type AsterClient } from '@aster/client';
import type { Pool } from '@aster/db';
import { hostName, hostZone } from './fleet.ts';
import { benchFlavors, type Plan } from './scheduler-plan.ts';

/** `bench:scheduler`'s tenants and their load: what is created through the API, and the wait for it. */

const say = (line: string) => process.stderr.write(line + '\n');
const round = (n: number, places = 2) => Math.round(n * 10 ** places) / 10 ** places;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The procedures of the scheduling API (aggregates, server groups, zones and groups on create), typed here by
 * hand: they are used only when the running API has them, and the benchmark builds without them.
 */
interface SchedulingApi {
  aggregates: {
    create: { mutate(input: { name: string; availabilityZone?: string }): Promise<{ id: string }> };
    addHost: { mutate(input: { id: string; host: string }): Promise<unknown> };
  };
  serverGroups: { create: { mutate(input: { name: string; policy: 'anti-affinity'; maxServerPerHost?: number }): Promise<{ id: string }> } };
}
const scheduling = (client: AsterClient) => client as unknown as SchedulingApi;

async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** Zones, flavors, the image, and per project a user, a network and unlimited quotas. */
export async function prepareTenants(admin: AsterClient, db: Pool, o: { url: string; hosts: number; projects: number; groups: boolean; zones: boolean }) {
  if (o.zones) {
    for (const zone of ['az1', 'az2'] as const) {
      const { id } = await scheduling(admin).aggregates.create.mutate({ name: `${zone}-hosts`, availabilityZone: zone });
      const hosts = Array.from({ length: o.hosts }, (_, i) => i).filter((i) => hostZone(i) === zone);
      await eachLimited(hosts, 20, (i) => scheduling(admin).aggregates.addHost.mutate({ id, host: hostName(i) }));
    }
  }
  const flavorIds: string[] = [];
  for (const f of benchFlavors) flavorIds.push((await admin.flavors.create.mutate({ name: f.name, vcpus: f.vcpus, ramMb: f.ramMb, diskGb: f.diskGb })).id);
  const imageId = (
    await db.query<{ id: string }>(
      `INSERT INTO images (name, visibility, status, disk_format, size_bytes, virtual_size, checksum_sha256) VALUES ('bench', 'public', 'active', 'qcow2', 1048576, 1073741824, repeat('a', 64)) RETURNING id`,
    )
  ).rows[0]!.id;
  const tokens: string[] = [];
  for (let p = 0; p < o.projects; p++) {
    const project = await admin.projects.create.mutate({ name: `bench-p${p}` });
    const unlimited = { instances: -1, cores: -1, ramMb: -1, ...(o.groups ? { serverGroups: -1, serverGroupMembers: -1 } : {}) };
    await admin.quotas.set.mutate({ project: project.id, limits: unlimited as { instances: number } });
    const userPassword = randomBytes(12).toString('base64url');
    await admin.users.create.mutate({ name: `bench-u${p}`, password: userPassword, project: project.id, role: 'member' });
    const { token } = await login({ url: o.url, username: `bench-u${p}`, password: userPassword, project: project.id });
    // Every server gets a port: a network of its own per project, as tenants have, with room for all of them.
    await createAsterClient({ url: o.url, token }).networks.create.mutate({ name: 'bench-net', subnet: { cidr: `10.${p}.0.0/16` } });
    tokens.push(token);
  }
  return { flavorIds, imageId, tokens };
}

/** The plan's server groups, each created by a client of its project. */
export async function createGroups(clients: AsterClient[], load: Plan): Promise<string[]> {
  const ids: string[] = [];
  for (const [g, group] of load.groups.entries()) {
    const input = { name: `bench-g${g}`, policy: 'anti-affinity' as const, ...(group.maxServerPerHost ? { maxServerPerHost: group.maxServerPerHost } : {}) };
    ids.push((await scheduling(clients[group.project]!).serverGroups.create.mutate(input)).id);
  }
  return ids;
}

/** Sends the plan from its clients at once, then waits until every accepted server is ACTIVE or ERROR. */
export async function runLoad(
  load: Plan,
  o: { clients: AsterClient[]; flavorIds: string[]; imageId: string; groupIds: string[]; db: Pool; started: number },
) {
  let accepted = 0;
  let clientsDone = false;
  const errors = new Map<string, number>();
  const sending = Promise.all(
    load.clients.map(async (requests, c) => {
      const client = o.clients[c]!;
      for (const [i, r] of requests.entries()) {
        const input = {
          name: `b-${c}-${i}`,
          flavorId: o.flavorIds[r.flavor]!,
          imageId: o.imageId,
          count: r.count,
          ...(r.zone ? { availabilityZone: r.zone } : {}),
          ...(r.group !== null ? { serverGroupId: o.groupIds[r.group]! } : {}),
        };
        try {
          const made = await client.servers.create.mutate(input);
          accepted += made.length;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          errors.set(message, (errors.get(message) ?? 0) + 1);
        }
      }
    }),
  ).then(() => {
    clientsDone = true;
    return (Date.now() - o.started) / 1000;
  });

  let last = { settled: -1, at: Date.now() };
  let lastSay = 0;
  for (;;) {
    await sleep(1000); // each look counts every server: not so often that it weighs on what is measured
    const { rows } = await o.db.query<{ active: number; error: number; total: number }>(
      `SELECT count(*) FILTER (WHERE vm_state = 'active' AND task_state IS NULL)::int AS active,
              count(*) FILTER (WHERE vm_state = 'error' AND task_state IS NULL)::int AS error, count(*)::int AS total
         FROM instances WHERE deleted_at IS NULL`,
    );
    const { active, error, total } = rows[0]!;
    const settled = active + error;
    if (Date.now() - lastSay >= 5000) {
      lastSay = Date.now();
      say(`  ${round((Date.now() - o.started) / 1000, 1)} s: accepted ${accepted}, active ${active}, error ${error}, building ${total - settled}`);
    }
    if (clientsDone && settled >= accepted && total >= accepted) break;
    if (settled !== last.settled) last = { settled, at: Date.now() };
    else if (clientsDone && Date.now() - last.at > 120_000) {
      say(`  no server settled for 120 s; ${total - settled} still building`);
      break;
    }
  }
  const acceptedSeconds = await sending;
  return { accepted, acceptedSeconds, errors: Object.fromEntries(errors) };
}
