import type { OnReadOpts } from 'node:net';

const KiB = 1024;
const SMALL = 16 * KiB;
const LARGE = 256 * KiB;
// Below this a read is copied out and its buffer read into again; above, the buffer itself is sent.
const COPY_BELOW = 4 * KiB;
// Buffers written out wait here, by size, for the next read of any session: streaming many MiB through
// fresh buffers would cost an allocation per read and keep the garbage collector busy.
const pools = new Map<number, Buffer[]>();
const POOL_MAX_BYTES = 16 * 1024 * KiB;
let pooledBytes = 0;

/**
 * Called with each chunk read from the target; `release` (when given) must be called once the chunk is
 * written out, and the buffer may be read into again. Returns false to stop reading.
 */
export type ChunkSink = (chunk: Buffer, release: (() => void) | null) => boolean;

/**
 * How the target is read. Node's default gives every read a fresh 64 KiB buffer; here a console that trickles
 * (a key echoed, a cursor moved) is read into one small buffer and copied out, and a console that streams
 * (a full-screen update) is read into large buffers handed whole to the client's socket and reused once
 * written: fewer, larger reads and writes, no copy, less to collect.
 */
export class TargetReads {
  private armed: Buffer = Buffer.allocUnsafeSlow(SMALL);
  private sink: ChunkSink | null = null;
  private early: Buffer[] = [];

  /** `largest` caps the read size (the session's share of the proxy's buffer budget). */
  constructor(private readonly largest: () => number) {}

  readonly onread: OnReadOpts = {
    buffer: () => this.armed,
    callback: (n, buffer) => this.read(n, buffer as Buffer),
  };

  /** Where chunks go from now on; chunks read before are passed on first. */
  attach(sink: ChunkSink): boolean {
    this.sink = sink;
    let more = true;
    for (const chunk of this.early.splice(0)) more = sink(chunk, null) && more;
    return more;
  }

  private read(n: number, buffer: Buffer): boolean {
    if (n < COPY_BELOW) {
      const chunk = Buffer.allocUnsafe(n);
      buffer.copy(chunk, 0, 0, n);
      if (buffer.length > SMALL && n < buffer.length / 8) this.rearm(SMALL, buffer);
      return this.deliver(chunk, null);
    }
    // A full buffer means more is waiting: read more at once next time; a mostly empty one, less.
    const size =
      n === buffer.length
        ? Math.max(SMALL, Math.min(LARGE, floorPow2(this.largest())))
        : n < buffer.length / 8
          ? Math.max(SMALL, buffer.length / 4)
          : buffer.length;
    this.armed = take(size);
    return this.deliver(buffer.subarray(0, n), () => giveBack(buffer));
  }

  private deliver(chunk: Buffer, release: (() => void) | null): boolean {
    if (this.sink) return this.sink(chunk, release);
    this.early.push(release ? Buffer.from(chunk) : chunk);
    release?.();
    return false;
  }

  private rearm(size: number, old: Buffer): void {
    this.armed = take(size);
    giveBack(old);
  }
}

function take(size: number): Buffer {
  const buffer = pools.get(size)?.pop();
  if (!buffer) return Buffer.allocUnsafeSlow(size);
  pooledBytes -= size;
  return buffer;
}

function giveBack(buffer: Buffer): void {
  if (pooledBytes + buffer.length > POOL_MAX_BYTES) return;
  let pool = pools.get(buffer.length);
  if (!pool) pools.set(buffer.length, (pool = []));
  pool.push(buffer);
  pooledBytes += buffer.length;
}

function floorPow2(n: number): number {
  return n < 1 ? 1 : 2 ** Math.floor(Math.log2(n));
}
