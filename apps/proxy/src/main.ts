import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createConsoleProxy, PgTokenResolver } from '@aster/console-proxy';
import { createLogger } from '@aster/log';
import pg from 'pg';
import { env } from './env.ts';

/**
 * The console proxy (nova-novncproxy, -spicehtml5proxy and -serialproxy in one process): WebSocket sessions
 * by console token, piped to the guest's VNC, SPICE or serial port on its host. This file only hosts it.
 */
const log = createLogger('proxy', { level: env.ASTER_LOG_LEVEL });

const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 4, application_name: 'aster-proxy' });
pool.on('error', () => {}); // an idle connection lost; the next lookup reconnects

const tls = env.ASTER_PROXY_TLS_CERT && env.ASTER_PROXY_TLS_KEY
  ? { cert: readFileSync(env.ASTER_PROXY_TLS_CERT), key: readFileSync(env.ASTER_PROXY_TLS_KEY) }
  : null;

const answer = (req: IncomingMessage, res: ServerResponse) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', sessions: proxy.sessions() }));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: `No such path: ${path}; consoles are WebSocket connections with ?token=` }));
};
const server = tls ? createHttpsServer(tls, answer) : createHttpServer(answer);

const proxy = createConsoleProxy({
  server,
  resolver: new PgTokenResolver(pool),
  log,
  allowedOrigins: env.ASTER_PROXY_ALLOWED_ORIGINS,
  maxSessions: env.ASTER_PROXY_MAX_SESSIONS,
  closeAtExpiry: env.ASTER_PROXY_CLOSE_AT_EXPIRY,
  pingIntervalMs: env.ASTER_PROXY_PING_SECONDS * 1000,
  tls: tls !== null,
});

server.on('error', (error) => {
  log.error('cannot listen', { port: env.ASTER_PROXY_PORT, error });
  process.exit(1);
});
server.listen(env.ASTER_PROXY_PORT, env.ASTER_HOST, () => {
  const host = env.ASTER_HOST.includes(':') ? `[${env.ASTER_HOST}]` : env.ASTER_HOST;
  log.info('ready', { url: `${tls ? 'wss' : 'ws'}://${host}:${env.ASTER_PROXY_PORT}` });
});

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info('stopping', { signal, sessions: proxy.sessions() });
  server.close();
  void proxy
    .stop()
    .then(() => pool.end())
    .finally(() => {
      server.closeAllConnections();
      process.exit(0);
    });
};
process.once('SIGINT', () => stop('SIGINT'));
process.once('SIGTERM', () => stop('SIGTERM'));
// Started by the launcher with an IPC channel: its closing means the launcher is gone.
process.once('disconnect', () => stop('launcher gone'));
process.channel?.unref(); // the channel alone must not keep the process alive
