import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Server as TlsServer } from 'node:tls';
import type { Logger } from '@aster/log';
import WebSocket, { WebSocketServer } from 'ws';
import { originAllowed, originAllowList, refusalFor, tokenOf } from './admission.ts';
import { closes, type Close } from './close.ts';
import { TargetReads } from './reads.ts';
import { ConsoleSession } from './session.ts';
import type { ConsoleTarget, TokenResolver } from './tokens.ts';

export interface ConsoleProxyOptions {
  resolver: TokenResolver;
  log: Logger;
  /** The server to attach to (its 'upgrade' requests); a plain HTTP server answering 404 is made when absent. */
  server?: HttpServer | HttpsServer;
  /** Origins (https://console.example.com) or host names allowed besides the proxy's own host name. */
  allowedOrigins?: readonly string[];
  /** Sessions open or being opened at once; more are refused with 4006. */
  maxSessions?: number;
  /** Bytes queued towards one client before its target is no longer read (default 1 MiB). */
  highWaterBytes?: number;
  /**
   * Bytes all sessions together may queue towards their clients (default 128 MiB): with many busy sessions each
   * gets an equal share of it, at least 64 KiB, so the proxy's memory stays bounded whatever its clients do.
   */
  bufferBudgetBytes?: number;
  /** Ping every client this often; one that missed two pongs is cut (default 30 s, 0 = never). */
  pingIntervalMs?: number;
  /** Close sessions with 4008 when their token expires (default: a session outlives its token). */
  closeAtExpiry?: boolean;
  /** How long to wait for the target to accept (default 5 s). */
  connectTimeoutMs?: number;
  /** The server speaks TLS (wss); found from the server when not given. */
  tls?: boolean;
  /** Largest message accepted from a client (default 1 MiB). */
  maxPayloadBytes?: number;
}

export interface ConsoleProxy {
  readonly server: HttpServer | HttpsServer;
  /** Sessions open or being connected to their target. */
  sessions(): number;
  /** Closes every session with 1001 and stops taking new ones (they are closed with 1001 too). */
  stop(): Promise<void>;
}

const MiB = 1024 * 1024;
// A client that does not answer the closing handshake of a stop is cut after this.
const STOP_GRACE_MS = 2000;

/** nova-novncproxy, -spicehtml5proxy and -serialproxy in one: WebSocket to TCP, authorised by console token. */
export function createConsoleProxy(options: ConsoleProxyOptions): ConsoleProxy {
  const { resolver, log } = options;
  const owned = !options.server;
  const server = options.server ?? createServer((_req, res) => res.writeHead(404).end());
  const secure = options.tls ?? server instanceof TlsServer;
  const allowList = originAllowList(options.allowedOrigins ?? []);
  const maxSessions = options.maxSessions ?? 1000;
  const highWaterBytes = options.highWaterBytes ?? MiB;
  const bufferBudgetBytes = options.bufferBudgetBytes ?? 128 * MiB;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const pingIntervalMs = options.pingIntervalMs ?? 30_000;

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: options.maxPayloadBytes ?? MiB,
    // Bytes are piped, never read as text.
    skipUTF8Validation: true,
    // noVNC and spice-html5 offer `binary`; websockify chooses it, and so do we.
    handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
  });

  const open = new Set<ConsoleSession>();
  let connecting = 0;
  let admitting = 0;
  let stopping = false;

  const shareBytes = () => Math.min(highWaterBytes, Math.max(64 * 1024, bufferBudgetBytes / Math.max(1, open.size)));
  const sessionOptions = {
    log,
    resolver,
    shareBytes,
    closeAtExpiry: options.closeAtExpiry ?? false,
    secure,
    onEnd(session: ConsoleSession) {
      open.delete(session);
    },
  };

  const refuse = (ws: WebSocket, req: IncomingMessage, close: Close, target: ConsoleTarget | null, extra: Record<string, unknown> = {}) => {
    const level = close.code === closes.hostUnreachable.code ? 'warn' : 'info';
    log[level]('console refused', {
      code: close.code,
      reason: close.reason,
      remote: req.socket.remoteAddress,
      origin: req.headers.origin,
      ...(target
        ? { instance: { id: target.instanceId, name: target.instanceName }, user: { id: target.userId, name: target.userName }, type: target.consoleType }
        : {}),
      ...extra,
    });
    // Reading resumes so the client's answer to the close frame is seen; what it sent before is dropped.
    ws.removeAllListeners('message');
    ws.resume();
    ws.close(close.code, close.reason);
  };

  const abandoned = (req: IncomingMessage, target: ConsoleTarget | null) =>
    log.info('console left before it opened', { remote: req.socket.remoteAddress, ...(target ? { instance: { id: target.instanceId, name: target.instanceName } } : {}) });

  const admit = async (ws: WebSocket, req: IncomingMessage): Promise<void> => {
    // The client may speak first (SPICE does): keep what arrives while the token is checked, and read no
    // more than that until the session is set up.
    const early: Buffer[] = [];
    ws.on('message', (data) => early.push(data as Buffer));
    ws.on('error', () => {});
    ws.pause();
    if (stopping) return refuse(ws, req, closes.shuttingDown, null);
    if (!originAllowed(req.headers.origin, req.headers.host, allowList)) return refuse(ws, req, closes.originNotAllowed, null);
    const token = tokenOf(req);
    let target: ConsoleTarget | null = null;
    if (token) {
      try {
        target = await resolver.resolve(token);
      } catch (error) {
        log.error('console token lookup failed', { error });
        return refuse(ws, req, closes.lookupFailed, null);
      }
    }
    if (ws.readyState !== WebSocket.OPEN) return abandoned(req, target);
    if (stopping) return refuse(ws, req, closes.shuttingDown, target);
    const refusal = refusalFor(target);
    if (refusal || !target || !token) return refuse(ws, req, refusal ?? closes.unknownToken, target);
    if (open.size + connecting >= maxSessions) return refuse(ws, req, closes.tooManySessions, target, { sessions: open.size + connecting });

    connecting++;
    let tcp: Socket;
    // Read sizes follow the session's share of the budget: a quarter of it, so reads never overrun it much.
    const reads = new TargetReads(() => shareBytes() / 4);
    try {
      tcp = await connectTarget(target.targetHost, target.targetPort, connectTimeoutMs, reads);
    } catch (error) {
      return refuse(ws, req, closes.hostUnreachable, target, { target: `${target.targetHost}:${target.targetPort}`, error: (error as Error).message });
    } finally {
      connecting--;
    }
    if (ws.readyState !== WebSocket.OPEN) {
      tcp.destroy();
      return abandoned(req, target);
    }
    if (stopping) {
      tcp.destroy();
      return refuse(ws, req, closes.shuttingDown, target);
    }
    ws.removeAllListeners('message');
    const session = new ConsoleSession(ws, tcp, reads, target, token, req.socket.remoteAddress, sessionOptions);
    open.add(session);
    session.start(early);
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      admitting++;
      admit(ws, req)
        .catch((error: unknown) => {
          log.error('console session failed to start', { error });
          ws.terminate();
        })
        .finally(() => admitting--);
    });
  };
  server.on('upgrade', onUpgrade);

  const pinger =
    pingIntervalMs > 0
      ? setInterval(() => {
          for (const session of open) session.heartbeat();
        }, pingIntervalMs)
      : undefined;
  pinger?.unref();

  return {
    server,
    sessions: () => open.size + connecting,
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(pinger);
      for (const session of open) session.close(closes.shuttingDown, 'proxy');
      const grace = setTimeout(() => {
        for (const session of open) session.terminate();
      }, STOP_GRACE_MS);
      // Admissions in flight see `stopping` after their lookup or connect and close with 1001 themselves.
      while (open.size > 0 || admitting > 0) await new Promise((resolve) => setTimeout(resolve, 20));
      clearTimeout(grace);
      server.off('upgrade', onUpgrade);
      if (owned) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function connectTarget(host: string, port: number, timeoutMs: number, reads: TargetReads): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const tcp = connect({ host, port, noDelay: true, keepAlive: true, onread: reads.onread });
    const timer = setTimeout(() => {
      tcp.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    tcp.once('connect', () => {
      clearTimeout(timer);
      tcp.removeAllListeners('error');
      tcp.on('error', () => {}); // the session listens from here on
      resolve(tcp);
    });
    tcp.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
