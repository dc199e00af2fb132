import type { Queryable } from '@aster/db';
import type { Logger } from '@aster/log';
import { NotificationListener } from '@aster/jobs';

/**
 * One LISTEN connection per API process for `aster_instances`, fanned out to every watcher. A notification
 * only says "something changed"; each watcher then reads the rows changed since its last sequence number,
 * so a lost notification or a reconnect can delay a change but never lose it.
 */
export class InstanceChanges {
  private readonly listener: NotificationListener;
  private readonly listeners = new Set<() => void>();
  /** Counts notifications, so that a watcher knows whether a horizon was read after it was woken. */
  private version = 0;
  private horizon: { version: number; value: Promise<bigint> } | null = null;
  private readonly stalled = new Set<string>();

  constructor(private readonly options: { connectionString: string; log: Logger; db: Queryable }) {
    this.listener = new NotificationListener({
      connectionString: options.connectionString,
      applicationName: 'aster-api-watch',
      log: options.log,
      what: 'change feed',
      onNotification: () => this.poke(),
      // Changes made while the feed was down are read now.
      onReconnect: () => this.poke(),
    });
  }

  async start(): Promise<void> {
    await this.listener.start(['aster_instances']);
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
    this.listeners.clear();
    await this.listener.stop();
  }
}

const POLL_MS = 10;
const MAX_WAIT_MS = 10_000;

/**
 * The highest change number below which no further change can commit. Change numbers are taken when a row
 * is written, not when it commits, so a slow transaction can commit a lower number after a higher one: read
 * the last number taken, then wait for every transaction that may hold one to end. Any such transaction
 * locked `instances` for writing before it took its number, so it is among the lock holders seen after.
 */
export async function settledChange(
  db: Queryable,
  options: { signal?: AbortSignal; maxWaitMs?: number; ignore?: Set<string>; onStall?: (holders: string[]) => void } = {},
): Promise<bigint> {
  const { rows } = await db.query<{ seq: string }>(
    `SELECT (CASE WHEN is_called THEN last_value ELSE last_value - 1 END)::text AS seq FROM instance_change_seq`,
  );
  const taken = BigInt(rows[0]!.seq);
  const holders = async (among: string[] | null) =>
    (
      await db.query<{ vxid: string }>(
        `SELECT DISTINCT virtualtransaction AS vxid FROM pg_locks
          WHERE locktype = 'relation' AND relation = 'instances'::regclass AND mode = 'RowExclusiveLock'
            AND virtualtransaction IS NOT NULL AND ($1::text[] IS NULL OR virtualtransaction = ANY($1))`,
        [among],
      )
    ).rows
      .map((r) => r.vxid)
      .filter((v) => !options.ignore?.has(v));
  // A transaction left open on instances must not stall every watch: past the limit, go on without it (and
  // `ignore` remembers it, so that later rounds do not wait for it again).
  const deadline = Date.now() + (options.maxWaitMs ?? MAX_WAIT_MS);
  let open = await holders(null);
  while (open.length && !options.signal?.aborted) {
    if (Date.now() > deadline) {
      for (const v of open) options.ignore?.add(v);
      options.onStall?.(open);
      break;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
    open = await holders(open);
  }
  return taken;
}
