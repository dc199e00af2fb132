import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { useTestDatabase } from '@aster/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, connectClient, issueToken, roundTrip, seedInstance, startTarget, until, type Target } from './fixtures.ts';

/** apps/proxy as the launcher runs it: its own process, its own database role that reads one view. */
const main = fileURLToPath(new URL('../../../apps/proxy/src/main.ts', import.meta.url));
const db = useTestDatabase();
const role = 'aster_proxy_test_' + randomBytes(4).toString('hex');
let databaseUrl: string;
let target: Target;

beforeAll(async () => {
  const password = randomBytes(12).toString('hex');
  await db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  await db.pool.query(`GRANT USAGE ON SCHEMA "${db.schema}" TO ${role}`);
  await db.pool.query(`GRANT SELECT ON "${db.schema}".console_token_targets TO ${role}`);
  const u = new URL(db.url);
  u.username = role;
  u.password = password;
  u.searchParams.set('options', `-c search_path=${db.schema}`);
  databaseUrl = u.toString();
  target = await startTarget();
});
afterAll(async () => {
  await target?.close();
  await db.pool.query(`DROP OWNED BY ${role}`);
  await db.pool.query(`DROP ROLE ${role}`);
});

interface Started {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: string[];
  exited: Promise<number | null>;
}

function run(env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    cwd: fileURLToPath(new URL('../../../apps/proxy/', import.meta.url)),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, stderr, exited };
}

describe('apps/proxy', () => {
  it('serves /healthz and sessions with a role that reads only console_token_targets, and stops with 1001', async () => {
    const port = await closedPort();
    const p = run({ DATABASE_URL: databaseUrl, ASTER_PROXY_PORT: String(port), ASTER_PROXY_PING_SECONDS: '0' });
    try {
      await until(() => p.lines.some((l) => l.msg === 'ready'), 'ready', 30_000);
      expect(p.lines.find((l) => l.msg === 'ready')).toMatchObject({ url: `ws://127.0.0.1:${port}` });
      expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({ status: 'ok', sessions: 0 });

      const token = await issueToken(db.pool, await seedInstance(db.pool), target.port);
      const client = connectClient(`ws://127.0.0.1:${port}/?token=${token}`);
      await client.opened;
      await roundTrip(client, Buffer.from('through the process'), 19);
      expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({ status: 'ok', sessions: 1 });

      const unknown = connectClient(`ws://127.0.0.1:${port}/?token=${randomBytes(32).toString('base64url')}`);
      expect(await unknown.closed).toEqual({ code: 4001, reason: 'unknown token' });

      p.child.kill('SIGTERM');
      expect(await client.closed).toEqual({ code: 1001, reason: 'proxy shutting down' });
      expect(await p.exited).toBe(0);
      expect(p.lines.find((l) => l.msg === 'console session ended')).toMatchObject({ code: 1001, endedBy: 'proxy', bytesToTarget: 19 });
    } finally {
      p.child.kill('SIGKILL');
    }
  }, 60_000);

  it('serves wss with a certificate and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aster-proxy-tls-'));
    const port = await closedPort();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const p = run({ DATABASE_URL: databaseUrl, ASTER_PROXY_PORT: String(port), ASTER_PROXY_TLS_CERT: join(dir, 'cert.pem'), ASTER_PROXY_TLS_KEY: join(dir, 'key.pem') });
    try {
      await until(() => p.lines.some((l) => l.msg === 'ready'), 'ready', 30_000);
      expect(p.lines.find((l) => l.msg === 'ready')).toMatchObject({ url: `wss://127.0.0.1:${port}` });
      const token = await issueToken(db.pool, await seedInstance(db.pool), target.port);
      const client = connectClient(`wss://localhost:${port}/?token=${token}`, ['binary'], { rejectUnauthorized: false });
      await client.opened;
      await roundTrip(client, Buffer.from('tls'), 3);
      client.ws.close();
      await client.closed;
    } finally {
      p.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses to start with a bad setting, naming it', async () => {
    const a = run({ ASTER_PROXY_PORT: '1' });
    expect(await a.exited).toBe(78);
    expect(a.stderr.join('\n')).toContain('DATABASE_URL');
    const b = run({ DATABASE_URL: databaseUrl, ASTER_PROXY_TLS_CERT: main });
    expect(await b.exited).toBe(78);
    expect(b.stderr.join('\n')).toMatch(/ASTER_PROXY_TLS_KEY: set both/);
    const c = run({ DATABASE_URL: databaseUrl, ASTER_PROXY_PING_SECONDS: '-1', ASTER_PROXY_ALLOWED_ORIGINS: 'https://ok.example.com, h://' });
    expect(await c.exited).toBe(78);
    expect(c.stderr.join('\n')).toContain('ASTER_PROXY_PING_SECONDS');
  }, 60_000);
});
