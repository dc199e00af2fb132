import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { AsterError, authenticate, errorCodes, FileImageStore, openImageDownload, parseRange, uploadImage, type ApiConfig, type ImageStore } from '@aster/api';
import type { Pool } from '@aster/db';
import type { Logger } from '@aster/log';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';

export const IMAGES_PATH = '/v1/images/';
const FILE = /^\/v1\/images\/([^/]+)\/file$/;

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/** A URL's signature parameters (`op`, `expires`, `sig`) when it has any: then they, not a token, authorise it. */
function signedQuery(url: URL) {
  const q = { op: url.searchParams.get('op'), expires: url.searchParams.get('expires'), sig: url.searchParams.get('sig') };
  return q.op === null && q.expires === null && q.sig === null ? null : q;
}

const HOST_FORMATS = ['qcow2', 'raw'] as const;

/**
 * Image data over plain HTTP, streamed both ways, authorised by the same bearer tokens as tRPC:
 * PUT /v1/images/:id/file stores the request body as the image's data; GET (and HEAD) /v1/images/:id/file
 * sends it, with Content-Length, x-image-sha256 and support for one `Range: bytes=a-b`.
 * Compute hosts hold no token: a URL the API signed (`?op=read|write&expires=…&sig=…`) stands in for one, for
 * that image and operation until it expires (403 naming the reason otherwise). A signed PUT may say the
 * format of its data in x-image-disk-format (qcow2 or raw), since a host knows it only once it has it.
 * Errors are JSON `{ error }` with the status of their domain code.
 */
export function createImagesHandler(deps: { db: Pool; log: Logger; config: ApiConfig; store?: ImageStore; now?: () => Date }): Handler {
  const { db, log } = deps;
  const store = deps.store ?? new FileImageStore(deps.config.imageDir);
  const now = deps.now ?? (() => new Date());

  // A signed URL needs no token; one without a signature works exactly as before.
  const access = async (req: IncomingMessage, url: URL) => {
    const signed = signedQuery(url);
    if (signed) return { signed, secret: deps.config.serviceSecret, now: now() };
    return { auth: await authenticate(db, req.headers.authorization, now()) };
  };

  const upload = async (req: IncomingMessage, res: ServerResponse, id: string, url: URL) => {
    const who = await access(req, url);
    const length = req.headers['content-length'];
    const format = header(req, 'x-image-disk-format');
    if ('signed' in who && format !== undefined && !(HOST_FORMATS as readonly string[]).includes(format)) {
      throw new AsterError('InvalidInput', `x-image-disk-format: must be one of ${HOST_FORMATS.join(', ')} (got ${format})`);
    }
    const image = await uploadImage(
      { db, store, log, now },
      {
        ...who,
        id,
        body: req,
        expectedSha256: header(req, 'x-image-sha256'),
        declaredLength: length === undefined ? null : Number(length),
        diskFormat: 'signed' in who ? ((format as (typeof HOST_FORMATS)[number] | undefined) ?? null) : null,
      },
    );
    sendJson(res, 200, image);
  };

  const download = async (req: IncomingMessage, res: ServerResponse, id: string, url: URL) => {
    const found = await openImageDownload({ db, store }, { ...(await access(req, url)), id });
    const size = found.sizeBytes;
    const range = parseRange(header(req, 'range'), size);
    const common = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', 'x-image-sha256': found.sha256, etag: `"${found.sha256}"` };
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...common, 'content-range': `bytes */${size}`, 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ error: `Range ${header(req, 'range')} is outside the image's ${size} bytes` }));
    }
    if (range) {
      res.writeHead(206, { ...common, 'content-length': range.end - range.start + 1, 'content-range': `bytes ${range.start}-${range.end}/${size}` });
    } else {
      res.writeHead(200, { ...common, 'content-length': size });
    }
    if (req.method === 'HEAD') return void res.end();
    await pipeline(found.open(range ?? undefined), res);
  };

  return async (req, res, url) => {
    try {
      const id = FILE.exec(url.pathname)?.[1];
      if (!id) return sendJson(res, 404, { error: `No such path: ${url.pathname}` });
      if (req.method === 'PUT') return await upload(req, res, id, url);
      if (req.method === 'GET' || req.method === 'HEAD') return await download(req, res, id, url);
      res.setHeader('allow', 'GET, HEAD, PUT');
      sendJson(res, 405, { error: `${req.method} is not allowed on ${url.pathname}: use GET, HEAD or PUT` });
    } catch (error) {
      fail(res, error, log);
    }
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function fail(res: ServerResponse, error: unknown, log: Logger): void {
  // A client that went away hears nothing; one mid-download gets a cut connection, not a JSON tail.
  if (res.destroyed || res.socket?.destroyed) return;
  if (res.headersSent) return void res.destroy();
  if (error instanceof AsterError) {
    const status = getHTTPStatusCodeFromError(new TRPCError({ code: errorCodes[error.code] }));
    if (status === 401) res.setHeader('www-authenticate', 'Bearer');
    return sendJson(res, status, { error: error.message });
  }
  log.error('image request failed', { error });
  sendJson(res, 500, { error: `Internal error (request ${String(res.getHeader('x-request-id'))})` });
}
