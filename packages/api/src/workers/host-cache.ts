import type { HostState, ResourceRequest } from '@aster/compute';
import type { Queryable } from '@aster/db';
import { NotificationListener } from '@aster/jobs';
import type { Logger } from '@aster/log';
import { readHostStates } from '../compute/host-states.ts';

/** Announced when what the scheduler cannot see in placement changes: services, hosts, aggregates (migration 0006). */
export const HOSTS_CHANGED_CHANNEL = 'aster_hosts_changed';

/** A view older than its TTL serves decisions while it is read again, up to this many TTLs old. */
const STALE_SERVES_TTLS = 5;

/**
 * What one scheduler process knows of the hosts (Nova's HostManager): read in one query, kept for a short
 * while, and changed in memory by this process's own claims so that its next decisions see them. It is advice,
 * never truth: a claim checks the room again in the database, and a lost claim, a change announced by the
 * database or a NoValidHost makes the next read fresh. So a stale view costs a retry, never an over-full host.
 */
export class HostStateCache {
  private hosts: HostState[] | null = null;
  private readAt = 0;
  /** Bumped by every invalidation: a read that began before one does not count as fresh. */
  private version = 0;
  private readVersion = -1;
  private loading: { version: number; promise: Promise<HostState[]> } | null = null;
  private listener: NotificationListener | null = null;

  constructor(
    private readonly o: {
      db: Queryable;
      ttlMs: number;
      downAfterSeconds: number;
      defaultZone: string;
      /** Whether decisions use instance counts (NumInstances); reading them costs a pass over every allocation. */
      countInstances?: boolean;
      now?: () => Date;
    },
  ) {}

  /**
   * Hosts as last read. A view older than the TTL (but not more than STALE_SERVES_TTLS of them) still serves
   * while it is read again in the background, so a decision does not wait for that read; one invalidated since
   * (a change announced, a claim lost), a `fresh` ask, or a TTL of 0 waits for a new read.
   */
  async get(options: { fresh?: boolean } = {}): Promise<HostState[]> {
    if (this.hosts && this.readVersion === this.version && !options.fresh) {
      const age = Date.now() - this.readAt;
      if (age < this.o.ttlMs) return this.hosts;
      if (age < this.o.ttlMs * STALE_SERVES_TTLS) {
        void this.read().catch(() => {});
        return this.hosts;
      }
    }
    return this.read();
  }

  /** Reads the hosts; a read already under way since the last invalidation serves this caller too. */
  private read(): Promise<HostState[]> {
    if (this.loading && this.loading.version === this.version) return this.loading.promise;
    const version = this.version;
    const promise = readHostStates(this.o.db, {
      now: (this.o.now ?? (() => new Date()))(),
      downAfterSeconds: this.o.downAfterSeconds,
      defaultZone: this.o.defaultZone,
      countInstances: this.o.countInstances ?? true,
    }).then(
      (hosts) => {
        if (this.loading?.promise === promise) this.loading = null;
        this.hosts = hosts;
        this.readAt = Date.now();
        this.readVersion = version;
        return hosts;
      },
      (error: unknown) => {
        if (this.loading?.promise === promise) this.loading = null;
        throw error;
      },
    );
    this.loading = { version, promise };
    return promise;
  }

  invalidate(): void {
    this.version++;
  }

  /** Hosts this process's open transactions are claiming on, and how many of them: those hosts' rows are locked. */
  private readonly claiming = new Map<string, number>();

  /** Marks hosts as being claimed on, until the answered function is called (when the transaction has ended). */
  claimingOn(hosts: string[]): () => void {
    for (const h of hosts) this.claiming.set(h, (this.claiming.get(h) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const h of hosts) {
        const n = (this.claiming.get(h) ?? 1) - 1;
        if (n > 0) this.claiming.set(h, n);
        else this.claiming.delete(h);
      }
    };
  }

  /**
   * The hosts in the order given, but those this process is claiming on right now moved last: a claim there would
   * wait for the other transaction's end, and the next best host is as good but for a little. Nothing is dropped.
   */
  idleFirst(ordered: HostState[]): HostState[] {
    if (this.claiming.size === 0) return ordered;
    const busy = ordered.filter((h) => this.claiming.has(h.host));
    if (busy.length === 0 || busy.length === ordered.length) return ordered;
    return [...ordered.filter((h) => !this.claiming.has(h.host)), ...busy];
  }

  /** Counts this process's own claim (or, with -1, a claim it gave back) on the host it read. */
  consume(host: HostState, r: ResourceRequest, sign: 1 | -1 = 1): void {
    host.vcpu.used += sign * r.vcpus;
    host.memoryMb.used += sign * r.ramMb;
    host.diskGb.used += sign * r.diskGb;
    host.instances += sign;
  }

  /** Listens for the database's announcements of host changes (and re-reads after a lost connection). */
  async listen(connectionString: string, log: Logger): Promise<void> {
    this.listener = new NotificationListener({
      connectionString,
      applicationName: 'aster-scheduler-hosts',
      log,
      what: 'host changes',
      onNotification: () => this.invalidate(),
      onReconnect: () => this.invalidate(),
    });
    await this.listener.start([HOSTS_CHANGED_CHANNEL]);
  }

  async stop(): Promise<void> {
    await this.listener?.stop();
  }
}
