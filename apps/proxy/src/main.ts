import { createServer } from 'node:http';
import { createLogger } from '@aster/log';
import { env } from './env.ts';

/**
 * The console proxy (nova-novncproxy, -spicehtml5proxy and -serialproxy in one process). This process
 * listens and answers /healthz; console sessions by token are added with the console tokens they need.
 */
const log = createLogger('proxy', { level: env.ASTER_LOG_LEVEL });

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok' }));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: `No such path: ${path}` }));
});
server.on('upgrade', (_req, socket) => {
  socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\n\r\nNo console sessions are served yet\n');
});
server.on('error', (error) => {
  log.error('cannot listen', { port: env.ASTER_PROXY_PORT, error });
  process.exit(1);
});
server.listen(env.ASTER_PROXY_PORT, env.ASTER_HOST, () => {
  log.info('ready', { url: `http://${env.ASTER_HOST}:${env.ASTER_PROXY_PORT}` });
});

const stop = (signal: string) => {
  log.info('stopping', { signal });
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGINT', () => stop('SIGINT'));
process.once('SIGTERM', () => stop('SIGTERM'));
// Started by the launcher with an IPC channel: its closing means the launcher is gone.
process.once('disconnect', () => stop('launcher gone'));
process.channel?.unref(); // the channel alone must not keep the process alive
