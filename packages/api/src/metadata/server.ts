import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyInstanceSignature } from '@aster/compute';
import type { Queryable } from '@aster/db';
import type { Logger } from '@aster/log';
import { pathSegments, resolveMetadataPath, rootListing, TEXT, type Answer } from './paths.ts';
import { loadMetadataSource } from './source.ts';

export interface MetadataHandlerOptions {
  db: Queryable;
  /** Shared with the hosts' metadata proxies, which sign each request's instance id with it. */
  secret: string;
  log: Logger;
  now?: () => Date;
  /** The zone of instances on hosts in no zone. */
  defaultAvailabilityZone?: string;
}

/** The three headers a metadata proxy adds (Neutron's names); whatever a guest sent is replaced by them. */
export const METADATA_HEADERS = { instanceId: 'x-instance-id', tenantId: 'x-tenant-id', signature: 'x-instance-id-signature' } as const;

type Outcome = Answer & { refused?: string };
const refuse = (status: number, reason: string): Outcome => ({ status, contentType: TEXT, body: reason, refused: reason });

/**
 * The metadata listener (nova-api-metadata behind Neutron's metadata agent). It trusts no source address:
 * an instance is named by X-Instance-ID and proven by X-Instance-ID-Signature, the HMAC of that id under the
 * shared secret, so only a proxy holding the secret can speak for an instance. GET and HEAD only.
 */
export function createMetadataHandler(o: MetadataHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  if (!o.secret) throw new Error('the metadata listener needs a secret shared with the metadata proxies');
  const now = o.now ?? (() => new Date());

  const answer = async (req: IncomingMessage, pathname: string, instanceId: string | undefined): Promise<Outcome> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(405, `method ${req.method} is not allowed: metadata is read with GET or HEAD`);
    const segments = pathSegments(pathname);
    if (!segments) return { status: 404, contentType: TEXT, body: `no metadata at ${pathname}` };
    if (segments.length === 0) return rootListing();
    const tenantId = req.headers[METADATA_HEADERS.tenantId];
    const signature = req.headers[METADATA_HEADERS.signature];
    if (instanceId === undefined || typeof tenantId !== 'string' || signature === undefined) {
      const missing = [instanceId === undefined && 'X-Instance-ID', typeof tenantId !== 'string' && 'X-Tenant-ID', signature === undefined && 'X-Instance-ID-Signature'];
      return refuse(403, `metadata request is not signed (missing ${missing.filter(Boolean).join(', ')})`);
    }
    if (!verifyInstanceSignature(o.secret, instanceId, signature)) return refuse(403, 'signature does not match the instance');
    const src = await loadMetadataSource(o.db, instanceId, o.defaultAvailabilityZone);
    if (!src) return refuse(404, `instance ${instanceId} not found`);
    if (src.projectId !== tenantId.toLowerCase()) return refuse(403, `X-Tenant-ID ${tenantId} is not the project of instance ${instanceId}`);
    return resolveMetadataPath(segments, src, now().toISOString().slice(0, 10), pathname);
  };

  return (req, res) => {
    // The path as sent (no URL parsing, which could throw or resolve `..`); the query is ignored.
    const pathname = (req.url ?? '/').split('?')[0]!;
    const given = req.headers[METADATA_HEADERS.instanceId];
    const instanceId = typeof given === 'string' ? given : undefined;
    answer(req, pathname, instanceId).then(
      (a) => {
        const fields = { instanceId: instanceId ?? null, path: pathname, status: a.status };
        // Refusals say why at warn; an unknown path is the guest's business.
        if (a.refused) {
          o.log.warn('metadata request refused', { ...fields, reason: a.refused });
        } else {
          o.log.debug('metadata request', fields);
        }
        send(req, res, a);
      },
      (error: unknown) => {
        o.log.error('metadata request failed', { instanceId: instanceId ?? null, path: pathname, error });
        send(req, res, refuse(500, 'metadata is not available right now; try again'));
      },
    );
  };
}

function send(req: IncomingMessage, res: ServerResponse, a: Answer): void {
  const body = typeof a.body === 'string' ? Buffer.from(a.body, 'utf8') : a.body;
  const headers: Record<string, string | number> = { 'content-type': a.contentType, 'content-length': body.length, 'cache-control': 'no-store' };
  if (a.status === 405) headers.allow = 'GET, HEAD';
  res.writeHead(a.status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

export interface MetadataServer {
  port: number;
  close(): Promise<void>;
}

/** Starts the listener; resolves once it listens (port 0 picks a free one), rejects if it cannot. */
export async function startMetadataServer(o: MetadataHandlerOptions & { host: string; port: number }): Promise<MetadataServer> {
  const server = createServer(createMetadataHandler(o));
  // Guests' requests are small and quick: a slow one is dropped rather than held.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => o.log.error('metadata listener failed', { error }));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
