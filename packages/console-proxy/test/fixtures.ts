import { randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Pool } from '@aster/db';
import { createLogger } from '@aster/log';
import WebSocket, { type ClientOptions } from 'ws';
import { createConsoleProxy, hashToken, PgTokenResolver, type ConsoleProxy, type ConsoleProxyOptions } from '../src/index.ts';

export interface Seeded {
  projectId: string;
  userId: string;
  instanceId: string;
}

/** A project, a user and one running instance on host-1. */
export async function seedInstance(db: Pool, name = 'web-' + randomBytes(3).toString('hex')): Promise<Seeded> {
  const projectId = (await db.query<{ id: string }>(`INSERT INTO projects (name) VALUES ($1) RETURNING id`, ['p-' + name])).rows[0]!.id;
  const userId = (await db.query<{ id: string }>(`INSERT INTO users (name, password_hash) VALUES ($1, 'x') RETURNING id`, ['u-' + name])).rows[0]!.id;
  const instanceId = randomUUID();
  await db.query(
    `INSERT INTO instances (id, project_id, user_id, name, hostname, flavor_id, flavor, image_id, image, vm_state, power_state, host, reservation_id)
     VALUES ($1, $2, $3, $4, $4, gen_random_uuid(), '{}', gen_random_uuid(), '{}', 'active', 1, 'host-1', 'r-' || $4)`,
    [instanceId, projectId, userId, name],
  );
  return { projectId, userId, instanceId };
}

/** Issues a token as the API does (only its hash is stored) for a console at 127.0.0.1:port. */
export async function issueToken(
  db: Pool,
  seeded: Seeded,
  port: number,
  options: { expiresInMs?: number; type?: 'novnc' | 'spice-html5' | 'serial'; targetHost?: string } = {},
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await db.query(
    `INSERT INTO console_tokens (token_hash, instance_id, console_type, host, target_host, target_port, user_id, project_id, expires_at)
     VALUES ($1, $2, $3, 'host-1', $4, $5, $6, $7, clock_timestamp() + $8 * interval '1 millisecond')`,
    [hashToken(token), seeded.instanceId, options.type ?? 'novnc', options.targetHost ?? '127.0.0.1', port, seeded.userId, seeded.projectId, options.expiresInMs ?? 600_000],
  );
  return token;
}

/** A TCP console on 127.0.0.1 that counts the connections it accepts; echoes unless told otherwise. */
export interface Target {
  port: number;
  connections: number;
  sockets: Socket[];
  close(): Promise<void>;
}

export async function startTarget(onConnection: (socket: Socket) => void = (s) => s.pipe(s)): Promise<Target> {
  const target: Target = { port: 0, connections: 0, sockets: [], close: async () => {} };
  const server: NetServer = createNetServer((socket) => {
    target.connections++;
    target.sockets.push(socket);
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target.port = (server.address() as AddressInfo).port;
  target.close = () =>
    new Promise<void>((resolve) => {
      for (const s of target.sockets) s.destroy();
      server.close(() => resolve());
    });
  return target;
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningProxy {
  proxy: ConsoleProxy;
  server: Server;
  port: number;
  url: string;
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

export async function startProxy(db: Pool, options: Partial<ConsoleProxyOptions> = {}): Promise<RunningProxy> {
  const logs: Record<string, unknown>[] = [];
  const log = createLogger('proxy-test', { level: 'debug', write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const server = options.server ?? createHttpServer((_req, res) => res.writeHead(404).end());
  const proxy = createConsoleProxy({ resolver: new PgTokenResolver(db), log, pingIntervalMs: 0, ...options, server });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    proxy,
    server: server as Server,
    port,
    url: `ws://127.0.0.1:${port}`,
    logs,
    async stop() {
      await proxy.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Client {
  ws: WebSocket;
  /** Resolves when the connection is open (a refusal opens first, then closes). */
  opened: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  received(): Buffer;
  receivedBytes(): number;
}

export function connectClient(url: string, protocols: string[] = ['binary'], options: ClientOptions = {}, keep = true): Client {
  const ws = new WebSocket(url, protocols, options);
  const chunks: Buffer[] = [];
  let bytes = 0;
  ws.on('message', (data) => {
    const b = data as Buffer;
    bytes += b.length;
    if (keep) chunks.push(b);
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return { ws, opened, closed, received: () => Buffer.concat(chunks), receivedBytes: () => bytes };
}

/** Waits until `check` holds, polling; fails with `what` after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sends `data` and waits for `bytes` bytes in all to have come back. */
export async function roundTrip(client: Client, data: Buffer, bytes: number): Promise<void> {
  client.ws.send(data);
  await until(() => client.receivedBytes() >= bytes, `${bytes} bytes back`);
}
