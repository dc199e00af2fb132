import type { Socket } from 'node:net';
import { describeTask, type TaskState } from '@aster/compute';
import type { Logger } from '@aster/log';
import WebSocket from 'ws';
import { consoleState } from './admission.ts';
import { closes, type Close } from './close.ts';
import type { ChunkSink, TargetReads } from './reads.ts';
import type { ConsoleTarget, TokenResolver } from './tokens.ts';

export type EndedBy = 'client' | 'target' | 'proxy';

export interface SessionOptions {
  log: Logger;
  resolver: TokenResolver;
  /**
   * Bytes this session may queue towards its client before the target is no longer read (its high-water
   * mark, less when many sessions share the proxy's budget).
   */
  shareBytes(): number;
  closeAtExpiry: boolean;
  secure: boolean;
  onEnd(session: ConsoleSession): void;
}

const BINARY = { binary: true } as const;
// How long the target gets to take what the client sent last before its connection is cut.
const TARGET_LINGER_MS = 2000;
// The looked-up-again reason for a closed console must not hold the client for long.
const RECHECK_MS = 2000;

/**
 * One console: bytes from the target go to the client as binary messages and the client's messages go to the
 * target, with flow control both ways so a slow reader on either side holds the other instead of growing a
 * queue here. Ends exactly once, with one log line.
 */
export class ConsoleSession {
  bytesToClient = 0;
  bytesToTarget = 0;
  private missedPongs = 0;
  private readonly startedAt = performance.now();
  private ending: (Close & { endedBy: EndedBy }) | null = null;
  private done = false;
  private waitingForTarget = false;
  private targetPaused = false;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly tcp: Socket,
    private readonly reads: TargetReads,
    readonly target: ConsoleTarget,
    private readonly token: string,
    private readonly remote: string | undefined,
    private readonly options: SessionOptions,
  ) {}

  /** Starts piping; `early` holds what the client sent while the session was being set up. */
  start(early: readonly Buffer[]): void {
    const { ws, tcp } = this;
    for (const chunk of early) this.toTarget(chunk);
    ws.on('message', (data) => this.toTarget(data as Buffer));
    ws.on('pong', () => (this.missedPongs = 0));
    ws.on('error', (error) => {
      // ws closes the connection itself (1002 protocol error, 1009 too big …); remember why.
      this.noteEnding({ code: statusCodeOf(error), reason: error.message, endedBy: 'client' });
    });
    ws.on('close', (code, reason) => this.onClientClosed(code, reason.toString()));
    // Reading stopped if anything arrived before now; it resumes unless that already filled the queue.
    if (this.reads.attach(this.fromTarget)) tcp.resume();
    tcp.on('error', () => {}); // 'close' follows and says it all
    tcp.on('close', () => void this.onTargetClosed());
    if (this.options.closeAtExpiry) {
      // Timers hold at most ~24.8 days; a longer token is simply not timed.
      const ms = Math.max(0, this.target.expiresInMs);
      if (ms < 2 ** 31 - 1) this.expiryTimer = setTimeout(() => this.close(closes.expiredDuringSession, 'proxy'), ms);
    }
    if (!this.waitingForTarget) ws.resume(); // paused while the session was set up
  }

  /**
   * Target to client: the chunk read is the message sent. Once the client's queue reaches the session's share,
   * the target is not read until that queue is written out to the kernel.
   */
  private readonly fromTarget: ChunkSink = (chunk, release) => {
    if (this.done) {
      release?.(); // the client is gone; the target is being let go
      return true;
    }
    this.bytesToClient += chunk.length;
    const full = this.ws.bufferedAmount + chunk.length >= this.options.shareBytes();
    if (full || release) {
      // The callback runs once this message, and so every one before it, is handed to the kernel.
      this.ws.send(chunk, BINARY, (error) => {
        release?.();
        if (full) this.resumeTarget(error);
      });
    } else {
      this.ws.send(chunk, BINARY);
    }
    if (!full) return true;
    this.targetPaused = true;
    return false;
  };

  private resumeTarget(error: Error | undefined): void {
    if (!this.targetPaused || error || this.ending || this.ws.readyState !== WebSocket.OPEN) return;
    this.targetPaused = false;
    this.tcp.resume();
  }

  /** Client to target: while the target's socket is full, the client is not read. */
  private toTarget(data: Buffer): void {
    if (this.ending) return;
    this.bytesToTarget += data.length;
    if (!this.tcp.write(data) && !this.waitingForTarget) {
      this.waitingForTarget = true;
      this.ws.pause();
      this.tcp.once('drain', () => {
        this.waitingForTarget = false;
        if (!this.ending) this.ws.resume();
      });
    }
  }

  /** Keep-alive: called every ping interval; a client that missed two pongs is gone. */
  heartbeat(): void {
    if (this.done || this.ws.readyState !== WebSocket.OPEN) return;
    if (this.missedPongs >= 2) {
      this.noteEnding({ code: 1006, reason: 'no answer to pings', endedBy: 'proxy' });
      this.ws.terminate();
      return;
    }
    this.missedPongs++;
    this.ws.ping();
  }

  /** Ends the session from the proxy's side (expiry, shutdown). */
  close(close: Close, endedBy: EndedBy): void {
    if (this.ending) return;
    this.noteEnding({ ...close, endedBy });
    this.tcp.destroy();
    this.ws.close(close.code, close.reason);
  }

  /** Ends at once, without a closing handshake (a client that does not answer it). */
  terminate(): void {
    this.ws.terminate();
  }

  private noteEnding(ending: Close & { endedBy: EndedBy }): void {
    if (!this.ending) this.ending = ending;
  }

  private async onTargetClosed(): Promise<void> {
    if (this.ending) return;
    this.noteEnding({ ...closes.targetClosed, endedBy: 'target' });
    clearTimeout(this.expiryTimer);
    // Everything read from the target is already queued ahead of the close frame.
    const close = await this.whyTargetClosed();
    this.ending = { ...close, endedBy: 'target' };
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(close.code, close.reason);
  }

  /** A console ends when its guest stops: look the token up again to say so. */
  private async whyTargetClosed(): Promise<Close> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), RECHECK_MS)));
    try {
      const now = await Promise.race([this.options.resolver.resolve(this.token), late]);
      if (now === 'late') return closes.targetClosed;
      if (now === null) return closes.serverStopped('DELETED');
      const { status, available } = consoleState(now);
      if (!available) return closes.serverStopped(status);
      // The guest's state is recorded after its host acts: a stop or reboot under way shows as a task.
      return now.taskState ? closes.serverBusy(describeTask(now.taskState as TaskState)) : closes.targetClosed;
    } catch {
      return closes.targetClosed;
    } finally {
      clearTimeout(timer);
    }
  }

  private onClientClosed(code: number, reason: string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.expiryTimer);
    this.noteEnding({ code, reason: reason || (code === 1006 ? 'connection lost' : ''), endedBy: 'client' });
    if (!this.tcp.destroyed) {
      // Let the target take what the client sent last, but do not wait on it for long.
      this.tcp.end();
      setTimeout(() => this.tcp.destroy(), TARGET_LINGER_MS).unref();
    }
    const { target } = this;
    const ending = this.ending!;
    this.options.log.info('console session ended', {
      user: { id: target.userId, name: target.userName },
      instance: { id: target.instanceId, name: target.instanceName },
      type: target.consoleType,
      host: target.host,
      target: `${target.targetHost}:${target.targetPort}`,
      remote: this.remote,
      secure: this.options.secure,
      bytesToClient: this.bytesToClient,
      bytesToTarget: this.bytesToTarget,
      durationMs: Math.round(performance.now() - this.startedAt),
      code: ending.code,
      reason: ending.reason,
      endedBy: ending.endedBy,
    });
    this.options.onEnd(this);
  }
}

/** The close code ws chose for a protocol error it met (kept under a private symbol). */
function statusCodeOf(error: Error): number {
  const key = Object.getOwnPropertySymbols(error).find((s) => s.description === 'status-code');
  const code = key ? (error as unknown as Record<symbol, unknown>)[key] : undefined;
  return typeof code === 'number' ? code : 1002;
}
