import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAsterClient, errorCode, login, TRPCClientError } from '@aster/client';
import { defaultApiConfig, ensureAdmin } from '@aster/api';
import { createPool } from '@aster/db';
import { useTestDatabase } from '@aster/db/testing';
import { createLogger } from '@aster/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../src/http.ts';

const db = useTestDatabase();
const lines: Record<string, unknown>[] = [];
const log = createLogger('api', { write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
let server: Server;
let url: string;

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const s = createServer(handler);
    s.listen(0, '127.0.0.1', () => resolve({ server: s, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}` }));
  });
}

beforeAll(async () => {
  await ensureAdmin(db.pool, { password: 'admin-password-1' });
  ({ server, url } = await listen(createApiHandler({ db: db.pool, log, config: defaultApiConfig })));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('the API over HTTP', () => {
  it('signs in with the typed client and answers whoami', async () => {
    const session = await login({ url, username: 'admin', password: 'admin-password-1' });
    const client = createAsterClient({ url, token: session.token });
    const me = await client.auth.whoami.query();
    expect(me).toMatchObject({ user: { name: 'admin' }, project: { name: 'admin' }, roles: ['admin'], isAdmin: true });
    // The URL may be given with /trpc too.
    await expect(createAsterClient({ url: `${url}/trpc/`, token: session.token }).auth.whoami.query()).resolves.toMatchObject({ user: { name: 'admin' } });
  });

  it('sends errors with their code and a plain message, no stack trace', async () => {
    const error = await login({ url, username: 'admin', password: 'wrong-password' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(errorCode(error)).toBe('UNAUTHORIZED');
    expect((error as Error).message).toBe('Invalid username or password');
    const data = (error as { data: Record<string, unknown> }).data;
    expect(data).not.toHaveProperty('stack');
    expect(data.requestId).toMatch(/^req-/);

    const bad = await createAsterClient({ url }).auth.whoami.query().catch((e: unknown) => e);
    expect(errorCode(bad)).toBe('UNAUTHORIZED');
    const raw = await fetch(`${url}/trpc/auth.whoami`, { headers: { authorization: 'Bearer ast_nope' } });
    expect(raw.status).toBe(401);
    const body = await raw.text();
    expect(body).toContain('Invalid token');
    expect(body).not.toMatch(/at .*\.ts:\d+/);
  });

  it('echoes a request id, and logs each request with it', async () => {
    const res = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'trace-42' } });
    expect(res.headers.get('x-request-id')).toBe('trace-42');
    const made = await fetch(`${url}/trpc/auth.whoami`);
    const id = made.headers.get('x-request-id');
    expect(id).toMatch(/^req-/);
    expect(lines).toContainEqual(expect.objectContaining({ service: 'api', msg: 'request', requestId: id, path: '/trpc/auth.whoami', status: 401 }));
  });

  it('logs every change with who made it and how it ended', async () => {
    const session = await login({ url, username: 'admin', password: 'admin-password-1' });
    const client = createAsterClient({ url, token: session.token });
    await client.projects.create.mutate({ name: 'audited' });
    await client.projects.create.mutate({ name: 'audited' }).catch(() => null);
    const audit = lines.filter((l) => l.msg === 'mutation' && l.path === 'projects.create');
    expect(audit).toEqual([
      expect.objectContaining({ ok: true, user: 'admin', project: 'admin' }),
      expect.objectContaining({ ok: false, user: 'admin', code: 'CONFLICT', reason: 'A project named audited already exists' }),
    ]);
    expect(audit[0]!.requestId).toMatch(/^req-/);
  });

  it('answers /healthz 200 with the database up, 503 without it, and 404 elsewhere', async () => {
    const ok = await fetch(`${url}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok', database: 'ok' });
    const missing = await fetch(`${url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'No such path: /nowhere' });
    const home = await fetch(`${url}/`);
    expect(await home.json()).toEqual({ name: 'Aster API', trpc: '/trpc', health: '/healthz' });

    const down = createPool({ connectionString: 'postgresql://nobody:x@127.0.0.1:1/none' });
    const broken = await listen(createApiHandler({ db: down, log, config: defaultApiConfig }));
    const res = await fetch(`${broken.url}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'unavailable' });
    await new Promise<void>((resolve) => broken.server.close(() => resolve()));
    await down.end();
  });
});
