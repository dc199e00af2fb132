import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { appRouter, bearerToken, createContext, type ApiConfig, type InstanceChanges } from '@aster/api';
import type { Jobs } from '@aster/jobs';
import type { Pool } from '@aster/db';
import { newRequestId, withRequestId, type Logger } from '@aster/log';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { createImagesHandler, IMAGES_PATH } from './images-http.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The API's HTTP surface: tRPC at /trpc, image data at /v1/images/:id/file, /healthz. Every request gets a
 * request id, logged and echoed back.
 */
export function createApiHandler(deps: {
  db: Pool;
  log: Logger;
  config: ApiConfig;
  jobs?: Jobs | null;
  changes?: InstanceChanges | null;
}): RequestListener {
  const { db, log, config } = deps;
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    // Procedure input is small JSON; image bytes arrive on their own streaming endpoint.
    maxBodySize: 1024 * 1024,
    createContext: ({ req, res }) =>
      createContext({
        db,
        config,
        log,
        requestId: String(res.getHeader('x-request-id')),
        token: bearerToken(req.headers.authorization),
        jobs: deps.jobs ?? null,
        changes: deps.changes ?? null,
      }),
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') log.error('procedure failed', { path, error: error.cause ?? error });
    },
  });

  const images = createImagesHandler({ db, log, config });

  return (req: IncomingMessage, res: ServerResponse) => {
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestId();
    res.setHeader('x-request-id', requestId);
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    res.on('finish', () => {
      const fields = { method: req.method, path: url.pathname, status: res.statusCode, ms: Math.round(performance.now() - started) };
      withRequestId(requestId, () => (url.pathname === '/healthz' ? log.debug('request', fields) : log.info('request', fields)));
    });
    withRequestId(requestId, () => {
      if (url.pathname === '/healthz') return void healthz(db, res);
      if (url.pathname === '/') return void sendJson(res, 200, { name: 'Aster API', trpc: '/trpc', health: '/healthz' });
      if (url.pathname === '/trpc' || url.pathname.startsWith('/trpc/')) return void trpc(req, res);
      if (url.pathname.startsWith(IMAGES_PATH)) return void images(req, res, url);
      sendJson(res, 404, { error: `No such path: ${url.pathname}` });
    });
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function healthz(db: Pool, res: ServerResponse): Promise<void> {
  try {
    await db.query('SELECT 1');
    sendJson(res, 200, { status: 'ok', database: 'ok' });
  } catch (error) {
    sendJson(res, 503, { status: 'unavailable', database: error instanceof Error ? error.message : String(error) });
  }
}
