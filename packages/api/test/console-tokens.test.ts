import { createHash } from 'node:crypto';
import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { useComputeStack, waitForStatus } from './compute-harness.ts';
import { expectError, userSession } from './harness.ts';

const db = useTestDatabase();
const env = useComputeStack(db, { host: 'ct-host-1', image: 'ct-image' });

const sha = (token: string) => createHash('sha256').update(token).digest();
const tokenRows = async (instanceId: string) =>
  (
    await db.pool.query<{ token_hash: Buffer; console_type: string; host: string; target_host: string; target_port: number; expires_at: Date; revoked_reason: string | null }>(
      `SELECT token_hash, console_type, host, target_host, target_port, expires_at, revoked_reason FROM console_tokens WHERE instance_id = $1 ORDER BY created_at`,
      [instanceId],
    )
  ).rows;

async function activeServer(name: string, project: string) {
  const member = await userSession(db.pool, env.stack.admin.api, { name, project, role: 'member' });
  const api = env.stack.api(member.token);
  const [s] = await api.servers.create({ name, flavorId: env.tiny, imageId: env.imageId });
  await waitForStatus(api, s!.id, 'ACTIVE');
  return { api, id: s!.id };
}

describe('servers.getConsole', () => {
  it('issues a token per console type, storing only its hash with the target the host reported', async () => {
    const { api, id } = await activeServer('ct-alice', 'ct-web');
    const before = Date.now();
    const vnc = await api.servers.getConsole({ id, type: 'novnc' });
    expect(vnc.type).toBe('novnc');
    expect(vnc.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(vnc.websocketUrl).toBe(`ws://127.0.0.1:6080/?token=${vnc.token}`);
    expect(vnc.url).toBe(`http://127.0.0.1:3000/servers/${id}/console?type=novnc`);
    const ttl = new Date(vnc.expiresAt).getTime() - before;
    expect(ttl).toBeGreaterThan(595_000);
    expect(ttl).toBeLessThan(605_000);

    const spice = await api.servers.getConsole({ id, type: 'spice-html5' });
    const serial = await api.servers.getConsole({ id, type: 'serial' });
    expect(new Set([vnc.token, spice.token, serial.token]).size).toBe(3);

    const endpoints = await env.stack.hosts[0]!.driver.consoles(id);
    const rows = await tokenRows(id);
    expect(rows.map((r) => [r.console_type, r.host, r.target_host, r.target_port])).toEqual([
      ['novnc', 'ct-host-1', '127.0.0.1', endpoints.find((e) => e.type === 'vnc')!.port],
      ['spice-html5', 'ct-host-1', '127.0.0.1', endpoints.find((e) => e.type === 'spice')!.port],
      ['serial', 'ct-host-1', '127.0.0.1', endpoints.find((e) => e.type === 'serial')!.port],
    ]);
    // Only the SHA-256 is kept: the token itself is nowhere in the table.
    expect(rows[0]!.token_hash.equals(sha(vnc.token))).toBe(true);
    const dump = JSON.stringify((await db.pool.query(`SELECT * FROM console_tokens`)).rows);
    expect(dump).not.toContain(vnc.token);
  });

  it('is for the server’s project members and admins only', async () => {
    const { id } = await activeServer('ct-bob', 'ct-own');
    const reader = await userSession(db.pool, env.stack.admin.api, { name: 'ct-rita', project: 'ct-own', role: 'reader' });
    await expectError(env.stack.api(reader.token).servers.getConsole({ id, type: 'novnc' }), 'FORBIDDEN');
    const stranger = await userSession(db.pool, env.stack.admin.api, { name: 'ct-sam', project: 'ct-other', role: 'member' });
    await expectError(env.stack.api(stranger.token).servers.getConsole({ id, type: 'novnc' }), 'NOT_FOUND');
    expect((await env.stack.admin.api.servers.getConsole({ id, type: 'serial' })).token).toHaveLength(43);
  });

  it('refuses a bad type and a server without a console, naming the state', async () => {
    const { api, id } = await activeServer('ct-carol', 'ct-states');
    await expectError(api.servers.getConsole({ id, type: 'rdp' as 'novnc' }), 'BAD_REQUEST', /type: must be one of novnc, spice-html5, serial/);
    await api.servers.stop({ id });
    await waitForStatus(api, id, 'SHUTOFF');
    await expectError(api.servers.getConsole({ id, type: 'novnc' }), 'CONFLICT', /console not available: server ct-carol is SHUTOFF/);
    await db.pool.query(`UPDATE instances SET vm_state = 'active', power_state = 1, task_state = 'rebooting' WHERE id = $1`, [id]);
    await expectError(api.servers.getConsole({ id, type: 'novnc' }), 'CONFLICT', /console not available: server ct-carol is busy rebooting \(status REBOOT\); try again when that ends/);
    await db.pool.query(`UPDATE instances SET task_state = NULL WHERE id = $1`, [id]);
  });

  it('says so when the host is down', async () => {
    const { api, id } = await activeServer('ct-dora', 'ct-down');
    await db.pool.query(`UPDATE services SET last_seen_at = now() - interval '5 minutes' WHERE host = 'ct-host-1' AND binary_name = 'aster-compute'`);
    try {
      await expectError(api.servers.getConsole({ id, type: 'novnc' }), 'CONFLICT', /its host is down \(no heartbeat for 60 s\)/);
    } finally {
      await db.pool.query(`UPDATE services SET last_seen_at = now() WHERE host = 'ct-host-1' AND binary_name = 'aster-compute'`);
    }
  });

  it('revokes tokens when the guest stops or restarts, and deletes them with the server', async () => {
    const { api, id } = await activeServer('ct-erin', 'ct-life');
    await api.servers.getConsole({ id, type: 'novnc' });
    await api.servers.pause({ id });
    await waitForStatus(api, id, 'PAUSED');
    expect((await tokenRows(id)).map((r) => r.revoked_reason)).toEqual([null]); // pausing keeps the ports
    await api.servers.getConsole({ id, type: 'serial' }); // a paused guest still has its console
    await api.servers.unpause({ id });
    await waitForStatus(api, id, 'ACTIVE');

    await api.servers.reboot({ id, type: 'HARD' });
    await waitForStatus(api, id, 'ACTIVE');
    expect((await tokenRows(id)).map((r) => r.revoked_reason)).toEqual(['the server was rebooted after it was issued', 'the server was rebooted after it was issued']);

    await api.servers.getConsole({ id, type: 'novnc' });
    env.stack.hosts[0]!.driver.simulateGuestPowerOff(id);
    await waitForStatus(api, id, 'SHUTOFF');
    expect((await tokenRows(id)).at(-1)!.revoked_reason).toBe('the server stopped after it was issued');

    await api.servers.start({ id });
    await waitForStatus(api, id, 'ACTIVE');
    await api.servers.getConsole({ id, type: 'novnc' });
    await api.servers.delete({ id });
    await expect.poll(async () => (await tokenRows(id)).length, { timeout: 10_000, interval: 20 }).toBe(0);
  });

  it('keeps only a day of expired tokens', async () => {
    const { api, id } = await activeServer('ct-fay', 'ct-prune');
    await api.servers.getConsole({ id, type: 'novnc' });
    await api.servers.getConsole({ id, type: 'serial' });
    await db.pool.query(`UPDATE console_tokens SET expires_at = now() - interval '25 hours' WHERE instance_id = $1 AND console_type = 'novnc'`, [id]);
    const { pruneConsoleTokens } = await import('../src/index.ts');
    expect(await pruneConsoleTokens(db.pool)).toBe(1);
    expect((await tokenRows(id)).map((r) => r.console_type)).toEqual(['serial']);
  });
});
