import WebSocket from 'ws';

/** How a WebSocket to the proxy ended: its close code and the reason the proxy gave. */
export interface Closed {
  code: number;
  reason: string;
}

/**
 * A WebSocket to the console proxy read as a byte stream (the proxy frames TCP bytes as it gets them, so a
 * protocol message may span messages): `read(n)` waits for exactly n bytes, `until` for a pattern.
 */
export class WireClient {
  readonly closed: Promise<Closed>;
  private buffered = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private ended: Closed | null = null;

  private constructor(readonly socket: WebSocket) {
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, data]);
      this.wake?.();
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => {
        this.ended = { code, reason: reason.toString() };
        this.wake?.();
        resolve(this.ended);
      }),
    );
  }

  /** Opens the socket; answers once it is open (a refusal still opens, then closes with its reason). */
  static open(url: string, headers: Record<string, string> = {}): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, ['binary'], { headers });
      const client = new WireClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
    });
  }

  send(bytes: Buffer | string): void {
    this.socket.send(typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
  }

  async read(n: number, timeoutMs = 30_000): Promise<Buffer> {
    await this.waitFor(() => this.buffered.length >= n, `${n} bytes`, timeoutMs);
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return Buffer.from(out);
  }

  /** Waits until the text received so far matches `pattern`; answers the match and forgets what came before it. */
  async until(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
    let match: RegExpExecArray | null = null;
    await this.waitFor(() => (match = pattern.exec(this.buffered.toString('latin1'))) !== null, String(pattern), timeoutMs);
    const m = match as unknown as RegExpExecArray;
    this.buffered = this.buffered.subarray(m.index + m[0].length);
    return m;
  }

  close(): void {
    this.socket.close();
  }

  private async waitFor(ready: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (this.ended) throw new Error(`the proxy closed the console (${this.ended.code} ${this.ended.reason}) before ${what} arrived`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; have ${this.buffered.length} bytes`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
      });
    }
  }
}
