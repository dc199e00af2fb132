import { execFile } from 'node:child_process';
import { chmod, rm } from 'node:fs/promises';
import { Agent as HttpAgent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { signInstanceId } from '@aster/compute';
import type { Logger } from '@aster/log';

/**
 * Who has an address on this host: on network `networkId` (a request from a project network's metadata
 * namespace), or on the external network when that is null (a request by DNAT); null when no instance here has it.
 */
export type InstanceLookup = (
  ip: string,
  networkId: string | null,
) => { instanceId: string; projectId: string } | null | Promise<{ instanceId: string; projectId: string } | null>;

/** The headers a metadata namespace's forwarder adds (after dropping any of these names the guest sent). */
export const NETWORK_ID_HEADER = 'x-aster-network-id';
export const SOURCE_ADDRESS_HEADER = 'x-aster-source-address';

export interface MetadataProxyOptions {
  listenHost: string;
  /** 0 picks a free port. */
  listenPort: number;
  /** The API's metadata listener, e.g. http://127.0.0.1:8775. */
  metadataUrl: string;
  /** Shared with the metadata listener. */
  secret: string;
  lookup: InstanceLookup;
  log: Logger;
  /** How long the metadata listener may take to answer, ms (10 s by default). */
  upstreamTimeoutMs?: number;
  /**
   * A unix socket (root's only) for the forwarders in project networks' metadata namespaces: requests on it
   * name their network and source address in headers, which only the forwarder sets.
   */
  socketPath?: string;
}

const TEXT = 'text/plain; charset=utf-8';

/**
 * The host side of the metadata path (Neutron's metadata agent): guests' requests to 169.254.169.254 arrive
 * here by DNAT with their own source address, which names the instance. The proxy signs that instance's id
 * and forwards the request to the API's metadata listener. Nothing the guest sends besides the method and
 * the path reaches the listener, so a guest cannot claim to be another instance.
 */
export class MetadataProxy {
  private server: Server | null = null;
  private socketServer: Server | null = null;
  private readonly upstream: URL;
  private readonly agent: HttpAgent;

  constructor(private readonly o: MetadataProxyOptions) {
    if (!o.secret) throw new Error('the metadata proxy needs the secret shared with the metadata listener');
    this.upstream = new URL(o.metadataUrl);
    if (this.upstream.protocol !== 'http:' && this.upstream.protocol !== 'https:') throw new Error(`metadata URL ${o.metadataUrl} is not http or https`);
    this.agent = this.upstream.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  }

  async start(): Promise<{ port: number }> {
    if (this.server) throw new Error('the metadata proxy is already started');
    const server = this.listener(false);
    await listen(server, (done) => server.listen(this.o.listenPort, this.o.listenHost, done));
    this.server = server;
    const port = (server.address() as AddressInfo).port;
    if (this.o.socketPath) {
      const path = this.o.socketPath;
      const socketServer = this.listener(true);
      await rm(path, { force: true }); // left by an earlier agent
      await listen(socketServer, (done) => socketServer.listen(path, done));
      await chmod(path, 0o600);
      this.socketServer = socketServer;
    }
    this.o.log.info('metadata proxy listening', { host: this.o.listenHost, port, socket: this.o.socketPath ?? null, upstream: this.upstream.origin });
    return { port };
  }

  private listener(fromNamespace: boolean): Server {
    const server = createServer((req, res) => void this.handle(req, res, fromNamespace));
    // Guests' requests are small: a slow one is dropped rather than held.
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.keepAliveTimeout = 5_000;
    server.on('error', (error) => this.o.log.error('metadata proxy failed', { error }));
    return server;
  }

  async stop(): Promise<void> {
    const servers = [this.server, this.socketServer];
    this.server = this.socketServer = null;
    this.agent.destroy();
    for (const server of servers) {
      if (!server) continue;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    if (this.o.socketPath && servers[1]) await rm(this.o.socketPath, { force: true });
  }

  private async handle(req: IncomingMessage, res: ServerResponse, fromNamespace: boolean): Promise<void> {
    // From a namespace's forwarder, the guest's address and network are in its headers (the guest's own of
    // those names were dropped there); by DNAT, the guest's address is the connection's, its network the external one.
    const said = (name: string) => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : '';
    };
    const ip = fromNamespace ? said(SOURCE_ADDRESS_HEADER) : (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const networkId = fromNamespace ? said(NETWORK_ID_HEADER) : null;
    const path = req.url ?? '/';
    const fields = { ip, networkId, method: req.method, path };
    if (fromNamespace && (!ip || !networkId)) return reply(res, 400, `a request through a metadata namespace must name its network and source address`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, `method ${req.method} is not allowed: metadata is read with GET or HEAD`, { allow: 'GET, HEAD' });
    if (!path.startsWith('/')) return reply(res, 400, 'the request must name a path, like /openstack/latest/meta_data.json');
    let found: Awaited<ReturnType<InstanceLookup>>;
    try {
      found = await this.o.lookup(ip, networkId);
    } catch (error) {
      this.o.log.error('metadata proxy lookup failed', { ...fields, error });
      return reply(res, 500, `cannot tell which instance has address ${ip}; try again`);
    }
    if (!found) {
      this.o.log.warn('metadata request from an unknown address', fields);
      return reply(res, 404, networkId ? `no instance has address ${ip} on network ${networkId} on this host` : `no instance has address ${ip} on this host`);
    }
    this.forward(req, res, path, ip, found, fields);
  }

  private forward(req: IncomingMessage, res: ServerResponse, path: string, ip: string, found: { instanceId: string; projectId: string }, fields: Record<string, unknown>) {
    const { log } = this.o;
    const timeoutMs = this.o.upstreamTimeoutMs ?? 10_000;
    const base = this.upstream.pathname.replace(/\/+$/, '');
    const request = this.upstream.protocol === 'https:' ? httpsRequest : httpRequest;
    const upstream = request(
      {
        protocol: this.upstream.protocol,
        hostname: this.upstream.hostname.replace(/^\[|\]$/g, ''),
        port: this.upstream.port || undefined,
        path: base + path,
        method: req.method,
        agent: this.agent,
        timeout: timeoutMs,
        // Built afresh: whatever the guest sent under these names never reaches the listener.
        headers: {
          'x-instance-id': found.instanceId,
          'x-tenant-id': found.projectId,
          'x-instance-id-signature': signInstanceId(this.o.secret, found.instanceId),
          'x-forwarded-for': ip,
          ...(typeof req.headers.accept === 'string' ? { accept: req.headers.accept } : {}),
        },
      },
      (answer) => {
        const headers: Record<string, string> = {};
        for (const name of ['content-type', 'content-length', 'cache-control', 'allow'] as const) {
          const value = answer.headers[name];
          if (typeof value === 'string') headers[name] = value;
        }
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
        res.on('finish', () => log.debug('metadata request', { ...fields, instanceId: found.instanceId, status: answer.statusCode }));
      },
    );
    upstream.on('timeout', () => upstream.destroy(new UpstreamTimeout()));
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (res.headersSent) return void res.destroy();
      const timedOut = error instanceof UpstreamTimeout;
      log.warn('metadata service unreachable', { ...fields, instanceId: found.instanceId, upstream: this.upstream.origin, error: error.message });
      if (timedOut) reply(res, 504, `the metadata service at ${this.upstream.origin} did not answer within ${timeoutMs / 1000} s`);
      else reply(res, 502, `the metadata service at ${this.upstream.origin} cannot be reached (${error.code ?? error.message})`);
    });
    // A guest that goes away takes its upstream request with it.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end();
  }
}

class UpstreamTimeout extends Error {}

function listen(server: Server, start: (done: () => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    start(() => {
      server.off('error', reject);
      resolve();
    });
  });
}

function reply(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, { 'content-type': TEXT, 'content-length': body.length, ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

// The DNAT that brings guests' requests for 169.254.169.254:80 to the proxy.

export const METADATA_ADDRESS = '169.254.169.254';
export const METADATA_RULE_COMMENT = 'aster-metadata';

export type IptablesRunner = (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/** `iptables -w 5 -t nat <args>`, answering the exit code rather than throwing on a non-zero one. */
export const runIptables: IptablesRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile('iptables', ['-w', '5', '-t', 'nat', ...args], { timeout: 15_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(new Error(`iptables ${args.join(' ')}: ${error.message}`));
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });

export interface MetadataDnatOptions {
  /** The bridge guests' traffic arrives on, e.g. virbr0. */
  bridge: string;
  /** Where the proxy listens, `<ip>:<port>`. */
  to: string;
  /** Only requests from this guest address: each agent routes its own guests, so agents can share a bridge. */
  source?: string;
  run?: IptablesRunner;
}

const ruleSpec = (bridge: string, to: string, source?: string) => [
  '-i', bridge, ...(source ? ['-s', `${source}/32`] : []), '-d', `${METADATA_ADDRESS}/32`, '-p', 'tcp', '--dport', '80',
  '-m', 'comment', '--comment', METADATA_RULE_COMMENT, '-j', 'DNAT', '--to-destination', to,
];

async function must(run: IptablesRunner, args: string[]): Promise<void> {
  const r = await run(args);
  if (r.code !== 0) throw new Error(`iptables -t nat ${args.join(' ')} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
}

const valueOf = (spec: string[], flag: string) => {
  const i = spec.indexOf(flag);
  return i < 0 ? undefined : spec[i + 1];
};

/** The tagged rules on `bridge` for `source` (or for any guest when none), each as the arguments after `-A PREROUTING`. */
async function taggedRules(run: IptablesRunner, bridge: string, source?: string): Promise<string[][]> {
  const listed = await run(['-S', 'PREROUTING']);
  if (listed.code !== 0) throw new Error(`iptables -t nat -S PREROUTING failed: ${listed.stderr.trim() || `exit ${listed.code}`}`);
  return listed.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map((t) => t.replace(/^"(.*)"$/, '$1')))
    .filter((t) => t[0] === '-A' && t[1] === 'PREROUTING')
    .map((t) => t.slice(2))
    .filter((spec) => valueOf(spec, '--comment') === METADATA_RULE_COMMENT && valueOf(spec, '-i') === bridge)
    .filter((spec) => valueOf(spec, '-s') === (source ? `${source}/32` : undefined));
}

/**
 * Makes guests on `bridge` reach `to` at 169.254.169.254:80, idempotently: the rule is added only when
 * missing, and tagged rules on the bridge pointing elsewhere (a proxy started on another port) are removed
 * after the new one is in, so requests never go unanswered meanwhile. Answers whether it changed anything.
 */
export async function ensureMetadataDnat(o: MetadataDnatOptions): Promise<boolean> {
  const run = o.run ?? runIptables;
  const wanted = ruleSpec(o.bridge, o.to, o.source);
  const present = (await run(['-C', 'PREROUTING', ...wanted])).code === 0;
  if (!present) await must(run, ['-I', 'PREROUTING', ...wanted]);
  const stale = (await taggedRules(run, o.bridge, o.source)).filter((spec) => valueOf(spec, '--to-destination') !== o.to);
  for (const spec of stale) await must(run, ['-D', 'PREROUTING', ...spec]);
  return !present || stale.length > 0;
}

/** Removes the tagged rules on `bridge` for `source` (only the one to `to` when given); answers how many went. */
export async function removeMetadataDnat(o: { bridge: string; to?: string; source?: string; run?: IptablesRunner }): Promise<number> {
  const run = o.run ?? runIptables;
  const rules = (await taggedRules(run, o.bridge, o.source)).filter((spec) => o.to === undefined || valueOf(spec, '--to-destination') === o.to);
  for (const spec of rules) await must(run, ['-D', 'PREROUTING', ...spec]);
  return rules.length;
}

/**
 * The DNAT rules of one agent's guests: one per guest address, to this agent's proxy. Addresses are added
 * as guests are plugged and removed as they go; until the proxy listens they are only remembered.
 */
export class MetadataRoutes {
  private readonly ips = new Set<string>();
  private target: { bridge: string; to: string } | null = null;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly log: Pick<Logger, 'warn'>,
    private readonly run: IptablesRunner = runIptables,
  ) {}

  private queue(fn: () => Promise<unknown>): Promise<void> {
    const next = this.chain.catch(() => {}).then(fn);
    this.chain = next;
    return next.then(
      () => {},
      (error: unknown) => this.log.warn('metadata DNAT rule', { error }),
    );
  }

  add(ip: string): Promise<void> {
    this.ips.add(ip);
    return this.queue(async () => {
      const t = this.target;
      if (t) await ensureMetadataDnat({ bridge: t.bridge, to: t.to, source: ip, run: this.run });
    });
  }

  remove(ip: string): Promise<void> {
    this.ips.delete(ip);
    return this.queue(async () => {
      const t = this.target;
      if (t) await removeMetadataDnat({ bridge: t.bridge, source: ip, run: this.run });
    });
  }

  /** The proxy listens at `to` for guests on `bridge`: every guest address known so far is routed there. */
  start(bridge: string, to: string): Promise<void> {
    this.target = { bridge, to };
    return this.queue(async () => {
      for (const ip of this.ips) await ensureMetadataDnat({ bridge, to, source: ip, run: this.run });
    });
  }

  /** The agent stops: its rules go (its guests keep running and get them back when it starts again). */
  stop(): Promise<void> {
    const t = this.target;
    this.target = null;
    return this.queue(async () => {
      if (t) for (const ip of this.ips) await removeMetadataDnat({ bridge: t.bridge, source: ip, to: t.to, run: this.run });
    });
  }
}
