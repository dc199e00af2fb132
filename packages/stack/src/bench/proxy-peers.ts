import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * The benchmark's peers of the proxies under test, each in a process of its own (forked by bench/proxy.ts
 * with its role as argument): the console targets, and a lean WebSocket client that answers one question at
 * a time, so that neither the targets nor the client share a process with what is measured.
 */

export const MiB = 1024 * 1024;
const self = fileURLToPath(import.meta.url);
export const peersFile = self;

export type Ports = { stream: number; echo: number };
export type ClientAsk = { kind: 'stream'; url: string; sessions: number; bytes: number } | { kind: 'echo'; url: string; count: number; size: number };
export interface StreamFigures { sessions: number; failed: number; deliveredMiB: number; expectedMiB: number; allDelivered: boolean; mibPerSec: number; seconds: number }

/** The console targets: one streams as many bytes as its client asks for (8 bytes, big-endian), one echoes. */
async function runTarget(): Promise<void> {
  const block = Buffer.alloc(MiB, 0x5a);
  const stream = (socket: Socket) => {
    socket.on('error', () => {});
    let ask = Buffer.alloc(0);
    const onAsk = (data: Buffer) => {
      ask = Buffer.concat([ask, data]);
      if (ask.length < 8) return;
      socket.off('data', onAsk);
      let left = Number(ask.readBigUInt64BE(0));
      const more = () => {
        while (left > 0) {
          const n = Math.min(left, block.length);
          left -= n;
          if (!socket.write(n === block.length ? block : block.subarray(0, n))) return void socket.once('drain', more);
        }
        socket.end();
      };
      more();
    };
    socket.on('data', onAsk);
  };
  const echo = (socket: Socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('data', (d) => socket.write(d));
  };
  const listen = (handler: (s: Socket) => void) =>
    new Promise<number>((resolve) => {
      const server: Server = createServer(handler);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  const ports: Ports = { stream: await listen(stream), echo: await listen(echo) };
  process.send!({ ok: ports });
}

/** The WebSocket clients, answering one question at a time from the bench process. */
function runClient(): void {
  process.on('message', (q: ClientAsk) => {
    const work = q.kind === 'echo' ? echoes(q.url, q.count, q.size) : streams(q.url, q.sessions, q.bytes);
    work.then(
      (ok) => process.send!({ ok }),
      (error: unknown) => process.send!({ error: error instanceof Error ? error.message : String(error) }),
    );
  });
}

/** Round-trip times in µs of `count` sequential echoes of `size` bytes. */
async function echoes(url: string, count: number, size: number): Promise<number[]> {
  const c = await connectConsole(url);
  const payload = randomBytes(size);
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    c.send(payload);
    await c.waitFor((i + 1) * size);
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  c.close();
  return samples;
}

/** Opens every session first (so all are open at once), then asks each for `bytes`; timed from the asking. */
async function streams(url: string, sessions: number, bytes: number): Promise<StreamFigures> {
  const opened = await Promise.all(Array.from({ length: sessions }, () => connectConsole(url).catch(() => null)));
  const ask = Buffer.alloc(8);
  ask.writeBigUInt64BE(BigInt(bytes));
  const t0 = performance.now();
  const results = await Promise.all(
    opened.map((c) => {
      if (!c) return { bytes: 0, failed: true };
      c.send(ask);
      return c.ended;
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const delivered = results.reduce((s, r) => s + r.bytes, 0);
  return {
    sessions,
    failed: results.filter((r) => r.failed).length,
    deliveredMiB: Math.round((delivered / MiB) * 10) / 10,
    expectedMiB: (sessions * bytes) / MiB,
    allDelivered: delivered === sessions * bytes,
    mibPerSec: Math.round(delivered / MiB / seconds),
    seconds: Math.round(seconds * 1000) / 1000,
  };
}

const readBuffer = Buffer.allocUnsafe(MiB);

interface StreamResult {
  bytes: number;
  failed: boolean;
}

interface ConsoleConnection {
  send(payload: Buffer): void;
  /** Resolves once `bytes` payload bytes in all have arrived. */
  waitFor(bytes: number): Promise<void>;
  close(): void;
  ended: Promise<StreamResult>;
}

/**
 * A lean WebSocket client, the same for both proxies: it counts payload bytes as frames go by without
 * copying or keeping them, so the client is not what a measurement measures.
 */
function connectConsole(url: string): Promise<ConsoleConnection> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    // One buffer for every read: frames are counted where they lie, and only control frames are copied.
    const socket = connect({
      host: u.hostname,
      port: Number(u.port),
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback: (n, b) => {
          onData((b as Buffer).subarray(0, n));
          return true;
        },
      },
    });
    let handshake: Buffer | null = Buffer.alloc(0);
    let bytes = 0;
    let want = Infinity;
    let wake: (() => void) | null = null;
    let closeSent = false;
    let endResolve: (r: StreamResult) => void = () => {};
    const ended = new Promise<StreamResult>((r) => (endResolve = r));
    // Frame parser state: the header being read, then how much payload is left of the frame.
    const head = Buffer.alloc(14);
    let headLength = 0;
    let headNeed = 2;
    let left = 0;
    let opcode = 0;
    let control: Buffer[] = [];
    const frame = (op: number, payload: Buffer) => {
      const mask = randomBytes(4);
      const ext = payload.length < 126 ? 0 : 2;
      const out = Buffer.allocUnsafe(2 + ext + 4 + payload.length);
      out[0] = 0x80 | op;
      out[1] = 0x80 | (ext ? 126 : payload.length);
      if (ext) out.writeUInt16BE(payload.length, 2);
      mask.copy(out, 2 + ext);
      for (let i = 0; i < payload.length; i++) out[2 + ext + 4 + i] = payload[i]! ^ mask[i & 3]!;
      return out;
    };
    const frameDone = () => {
      if (opcode < 8) return;
      const body = Buffer.concat(control);
      control = [];
      if (opcode === 8) {
        if (!closeSent) socket.write(frame(8, body.subarray(0, 2)));
        closeSent = true;
        socket.end();
      } else if (opcode === 9) {
        socket.write(frame(10, body));
      }
    };
    const parse = (chunk: Buffer) => {
      let i = 0;
      while (i < chunk.length) {
        if (left > 0) {
          const n = Math.min(left, chunk.length - i);
          if (opcode >= 8) control.push(Buffer.from(chunk.subarray(i, i + n)));
          else bytes += n;
          left -= n;
          i += n;
          if (left === 0) frameDone();
          continue;
        }
        head[headLength++] = chunk[i++]!;
        if (headLength === 2) headNeed = 2 + ((head[1]! & 0x7f) === 126 ? 2 : (head[1]! & 0x7f) === 127 ? 8 : 0) + (head[1]! & 0x80 ? 4 : 0);
        if (headLength < 2 || headLength < headNeed) continue;
        const short = head[1]! & 0x7f;
        left = short === 126 ? head.readUInt16BE(2) : short === 127 ? Number(head.readBigUInt64BE(2)) : short;
        opcode = head[0]! & 0x0f;
        headLength = 0;
        if (left === 0) frameDone();
      }
      if (bytes >= want && wake) {
        const w = wake;
        wake = null;
        w();
      }
    };
    const connection: ConsoleConnection = {
      send: (payload) => socket.write(frame(2, payload)),
      waitFor: (n) =>
        bytes >= n
          ? Promise.resolve()
          : new Promise<void>((r) => {
              want = n;
              wake = r;
            }),
      close() {
        if (!closeSent) socket.write(frame(8, Buffer.from([0x03, 0xe8])));
        closeSent = true;
      },
      ended,
    };
    const onData = (chunk: Buffer) => {
      if (!handshake) return parse(chunk);
      handshake = Buffer.concat([handshake, chunk]);
      const end = handshake.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = handshake.subarray(0, handshake.indexOf('\r\n')).toString('latin1');
      const rest = handshake.subarray(end + 4);
      handshake = null;
      if (!/^HTTP\/1\.1 101 /.test(status)) {
        socket.destroy();
        return reject(new Error(`upgrade refused: ${status}`));
      }
      resolve(connection);
      if (rest.length > 0) parse(rest);
    };
    socket.on('error', (error) => {
      if (handshake) reject(error);
    });
    socket.on('close', () => endResolve({ bytes, failed: false }));
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n`,
    );
  });
}

const role = process.argv[1] === self ? process.argv[2] : undefined;
if (role === 'target') {
  process.once('disconnect', () => process.exit(0));
  void runTarget();
} else if (role === 'client') {
  process.once('disconnect', () => process.exit(0));
  runClient();
}
