import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useTestDatabase } from '@aster/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectClient, issueToken, roundTrip, seedInstance, startProxy, startTarget, until, type RunningProxy, type Target } from './fixtures.ts';

const db = useTestDatabase();
let dir: string;
let cert: Buffer;
let proxy: RunningProxy;
let target: Target;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aster-proxy-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  cert = readFileSync(join(dir, 'cert.pem'));
  const server = createServer({ cert, key: readFileSync(join(dir, 'key.pem')) }, (_req, res) => res.writeHead(404).end());
  proxy = await startProxy(db.pool, { server });
  target = await startTarget();
});
afterAll(async () => {
  await proxy?.stop();
  await target?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('serves wss with the certificate it is given', async () => {
  const token = await issueToken(db.pool, await seedInstance(db.pool), target.port);
  const client = connectClient(`wss://localhost:${proxy.port}/?token=${token}`, ['binary'], { ca: cert, origin: 'https://localhost:3000' });
  await client.opened;
  expect(client.ws.protocol).toBe('binary');
  await roundTrip(client, Buffer.from('over tls'), 8);
  expect(client.received().toString()).toBe('over tls');
  client.ws.close();
  await client.closed;
  await until(() => proxy.logs.some((l) => l.msg === 'console session ended'), 'the log line');
  expect(proxy.logs.findLast((l) => l.msg === 'console session ended')).toMatchObject({ secure: true, bytesToClient: 8 });
});

it('refuses a client that does not trust the certificate, before any session', async () => {
  const token = await issueToken(db.pool, await seedInstance(db.pool), target.port);
  const before = target.connections;
  const client = connectClient(`wss://localhost:${proxy.port}/?token=${token}`);
  await expect(client.opened).rejects.toThrow(/self[- ]signed/);
  expect(target.connections).toBe(before);
});
