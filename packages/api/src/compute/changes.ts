import type { Logger } from '@aster/log';
import pg from 'pg';

/**
 * One LISTEN connection per API process for `aster_instances`, fanned out to every watcher. A notification
 * only says "something changed"; each watcher then reads the rows changed since its last sequence number,
 * so a lost notification or a reconnect can delay a change but never lose it.
 */
export class InstanceChanges {
  private client: pg.Client | null = null;
  private readonly listeners = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: { connectionString: string; log: Logger; schema?: string }) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.connectionString, application_name: 'aster-api-watch' });
    client.on('notification', () => this.poke());
    client.on('error', (error) => {
      if (this.closed) return;
      this.options.log.warn('change feed connection lost; reconnecting', { error });
      this.client = null;
      void client.end().catch(() => {});
      void this.reconnect();
    });
    await client.connect();
    await client.query('LISTEN aster_instances');
    this.client = client;
  }

  private async reconnect(): Promise<void> {
    while (!this.closed && !this.client) {
      try {
        await this.start();
        this.poke();
      } catch {
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private poke(): void {
    for (const l of this.listeners) l();
  }

  /**
   * A waiter that resolves on the next change after it was armed. Arm it before reading, so a change that
   * commits while the read runs is not missed.
   */
  subscribe(): { next(signal?: AbortSignal, timeoutMs?: number): Promise<void>; close(): void } {
    let dirty = false;
    let wake: (() => void) | null = null;
    const listener = () => {
      dirty = true;
      wake?.();
    };
    this.listeners.add(listener);
    return {
      next: (signal, timeoutMs = 30_000) =>
        new Promise<void>((resolve) => {
          if (dirty || signal?.aborted) {
            dirty = false;
            return resolve();
          }
          const done = () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            wake = null;
            dirty = false;
            resolve();
          };
          const timer = setTimeout(done, timeoutMs);
          signal?.addEventListener('abort', done);
          wake = done;
        }),
      close: () => {
        this.listeners.delete(listener);
      },
    };
  }

  get watchers(): number {
    return this.listeners.size;
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.client?.end().catch(() => {});
  }
}
