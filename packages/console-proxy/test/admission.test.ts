import { randomBytes } from 'node:crypto';
import { useTestDatabase } from '@aster/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, connectClient, until, issueToken, roundTrip, seedInstance, startProxy, startTarget, type RunningProxy, type Target } from './fixtures.ts';

const db = useTestDatabase();
let target: Target;
let proxy: RunningProxy;

beforeAll(async () => {
  target = await startTarget();
  proxy = await startProxy(db.pool, { allowedOrigins: ['https://console.example.com', 'ops.example.net'] });
});
afterAll(async () => {
  await proxy?.stop();
  await target?.close();
});

/** Opens a session expecting a refusal: the client sees the upgrade accepted, then the close; the target sees nothing. */
async function expectRefusal(url: string, code: number, reason: string, options: Parameters<typeof connectClient>[2] = {}) {
  const before = target.connections;
  const client = connectClient(url, ['binary'], options);
  await client.opened;
  expect(await client.closed).toEqual({ code, reason });
  expect(target.connections).toBe(before);
  expect(proxy.logs.findLast((l) => l.msg === 'console refused')).toMatchObject({ code, reason });
}

describe('a session', () => {
  it('pipes bytes both ways in binary messages, with the binary subprotocol', async () => {
    const seeded = await seedInstance(db.pool);
    const token = await issueToken(db.pool, seeded, target.port);
    const before = target.connections;
    const client = connectClient(`${proxy.url}/?token=${token}`);
    await client.opened;
    expect(client.ws.protocol).toBe('binary');
    const data = randomBytes(200_000);
    await roundTrip(client, data, data.length);
    expect(client.received().equals(data)).toBe(true);
    expect(target.connections).toBe(before + 1);
    expect(proxy.proxy.sessions()).toBe(1);
    client.ws.close(1000, 'bye');
    await client.closed;
    await until(() => proxy.proxy.sessions() === 0, 'the session to end');
    const line = proxy.logs.findLast((l) => l.msg === 'console session ended');
    expect(line).toMatchObject({
      instance: { id: seeded.instanceId },
      user: { id: seeded.userId },
      type: 'novnc',
      bytesToClient: data.length,
      bytesToTarget: data.length,
      code: 1000,
      reason: 'bye',
      endedBy: 'client',
      remote: '127.0.0.1',
    });
    expect(typeof line?.durationMs).toBe('number');
  });

  it('chooses no subprotocol when binary is not offered', async () => {
    const token = await issueToken(db.pool, await seedInstance(db.pool), target.port);
    const client = connectClient(`${proxy.url}/?token=${token}`, []);
    await client.opened;
    expect(client.ws.protocol).toBe('');
    await roundTrip(client, Buffer.from('hello'), 5);
    client.ws.close();
    await client.closed;
  });

  it('takes the token from the console cookie when the URL has none', async () => {
    const token = await issueToken(db.pool, await seedInstance(db.pool), target.port, { type: 'spice-html5' });
    const client = connectClient(`${proxy.url}/`, ['binary'], { headers: { cookie: `theme=dark; aster_console_token=${token}` } });
    await client.opened;
    await roundTrip(client, Buffer.from('REDQ'), 4);
    client.ws.close();
    await client.closed;
  });

  it('forwards what the client sends before the target is connected', async () => {
    const token = await issueToken(db.pool, await seedInstance(db.pool), target.port);
    const client = connectClient(`${proxy.url}/?token=${token}`);
    await client.opened;
    // Sent at once, as SPICE's link message is, while the proxy still looks the token up.
    client.ws.send(Buffer.from('first'));
    client.ws.send(Buffer.from('second'));
    await new Promise((r) => setTimeout(r, 0));
    await roundTrip(client, Buffer.from('!'), 12);
    expect(client.received().toString()).toBe('firstsecond!');
    client.ws.close();
    await client.closed;
  });
});

describe('refusals', () => {
  it('an unknown, malformed or missing token: 4001', async () => {
    await expectRefusal(`${proxy.url}/?token=${randomBytes(32).toString('base64url')}`, 4001, 'unknown token');
    await expectRefusal(`${proxy.url}/?token=not-a-token`, 4001, 'unknown token');
    await expectRefusal(`${proxy.url}/`, 4001, 'unknown token');
  });

  it('an expired token: 4002', async () => {
    const token = await issueToken(db.pool, await seedInstance(db.pool), target.port, { expiresInMs: -1000 });
    await expectRefusal(`${proxy.url}/?token=${token}`, 4002, 'token expired');
  });

  it('a server without a console: 4004 with its status', async () => {
    const seeded = await seedInstance(db.pool);
    const token = await issueToken(db.pool, seeded, target.port);
    await db.pool.query(`UPDATE instances SET vm_state = 'stopped', power_state = 4 WHERE id = $1`, [seeded.instanceId]);
    await expectRefusal(`${proxy.url}/?token=${token}`, 4004, 'console not available: server is SHUTOFF');
    // A token issued while the server was already stopped (never revoked) says the same.
    const late = await issueToken(db.pool, seeded, target.port);
    await expectRefusal(`${proxy.url}/?token=${late}`, 4004, 'console not available: server is SHUTOFF');
  });

  it('a token revoked by a reboot of a server that is running again: 4007 with the reason', async () => {
    const seeded = await seedInstance(db.pool);
    const token = await issueToken(db.pool, seeded, target.port);
    await db.pool.query(`UPDATE instances SET task_state = 'rebooting' WHERE id = $1`, [seeded.instanceId]);
    await db.pool.query(`UPDATE instances SET task_state = NULL WHERE id = $1`, [seeded.instanceId]);
    await expectRefusal(`${proxy.url}/?token=${token}`, 4007, 'token no longer valid: the server was rebooted after it was issued');
  });

  it("a deleted server's token: 4001", async () => {
    const seeded = await seedInstance(db.pool);
    const token = await issueToken(db.pool, seeded, target.port);
    await db.pool.query(`UPDATE instances SET deleted_at = now() WHERE id = $1`, [seeded.instanceId]);
    await expectRefusal(`${proxy.url}/?token=${token}`, 4001, 'unknown token');
  });

  it('a closed target port: 4005', async () => {
    const token = await issueToken(db.pool, await seedInstance(db.pool), await closedPort());
    await expectRefusal(`${proxy.url}/?token=${token}`, 4005, 'host unreachable');
  });

  it('a session past the limit: 4006', async () => {
    const limited = await startProxy(db.pool, { maxSessions: 1 });
    try {
      const token = await issueToken(db.pool, await seedInstance(db.pool), target.port);
      const first = connectClient(`${limited.url}/?token=${token}`);
      await first.opened;
      await roundTrip(first, Buffer.from('x'), 1);
      const before = target.connections;
      const second = connectClient(`${limited.url}/?token=${token}`);
      await second.opened;
      expect(await second.closed).toEqual({ code: 4006, reason: 'too many console sessions' });
      expect(target.connections).toBe(before);
      first.ws.close();
      await first.closed;
    } finally {
      await limited.stop();
    }
  });
});

describe('origins', () => {
  let token: string;
  beforeAll(async () => {
    token = await issueToken(db.pool, await seedInstance(db.pool), target.port);
  });

  const opens = async (origin: string | undefined, host?: string) => {
    const headers: Record<string, string> = {};
    if (host) headers.host = host;
    const client = connectClient(`${proxy.url}/?token=${token}`, ['binary'], { ...(origin ? { origin } : {}), headers });
    await client.opened;
    await roundTrip(client, Buffer.from('ok'), 2);
    client.ws.close();
    await client.closed;
  };

  it('allows the page on the same host name on another port', async () => {
    await opens('http://127.0.0.1:3000');
    await opens('http://localhost:3000', `localhost:${proxy.port}`);
  });

  it('allows a client without Origin (not a browser)', async () => {
    await opens(undefined);
  });

  it('allows origins and host names on the allow-list', async () => {
    await opens('https://console.example.com');
    await opens('http://ops.example.net:8080');
  });

  it('refuses another host name, another scheme, or an origin only partly on the list: 4003', async () => {
    const url = `${proxy.url}/?token=${token}`;
    await expectRefusal(url, 4003, 'origin not allowed', { origin: 'http://evil.example.com' });
    await expectRefusal(url, 4003, 'origin not allowed', { origin: 'http://console.example.com' }); // http, not https
    await expectRefusal(url, 4003, 'origin not allowed', { origin: 'null' });
    await expectRefusal(url, 4003, 'origin not allowed', { origin: 'ftp://127.0.0.1' });
    await expectRefusal(url, 4003, 'origin not allowed', { origin: 'http://127.0.0.1.evil.example.com' });
  });
});
