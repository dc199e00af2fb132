import type { Queryable } from '@aster/db';
import type { Logger } from '@aster/log';
import pg from 'pg';
import { settledChange } from '../servers/watch.ts';

/**
 * One LISTEN connection per API process for `aster_instances`, fanned out to every watcher. A notification
 * only says "something changed"; each watcher then reads the rows changed since its last sequence number,
 * so a lost notification or a reconnect can delay a change but never lose it.
 */
export class InstanceChanges {
  private client: pg.Client | null = null;
  private readonly listeners = new Set<() => void>();
  private closed = false;
  /** Counts notifications, so that a watcher knows whether a horizon was read after it was woken. */
  private version = 0;
  private horizon: { version: number; value: Promise<bigint> } | null = null;
  private readonly stalled = new Set<string>();

  constructor(private readonly options: { connectionString: string; log: Logger; db: Queryable }) {}

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
    this.version++;
    for (const l of this.listeners) l();
  }

  /** The notification count now: pass it to `settled` after being woken. */
  get seen(): number {
    return this.version;
  }

  /**
   * The change number below which nothing more can commit (see `settledChange`), read once for all watchers:
   * a read begun at or after notification `seen` is shared, an older one is not (it may predate the change
   * that woke the caller).
   */
  settled(seen: number): Promise<bigint> {
    if (this.horizon && this.horizon.version >= seen) return this.horizon.value;
    const version = this.version;
    const value = settledChange(this.options.db, {
      ignore: this.stalled,
      onStall: (holders) => this.options.log.warn('servers.watch went on past transactions still open on instances', { holders }),
    });
    const entry = { version, value };
    this.horizon = entry;
    // Kept while it runs and until a newer notification asks for a newer one.
    void value.catch(() => {
      if (this.horizon === entry) this.horizon = null;
    });
    return value;
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
