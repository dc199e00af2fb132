import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@aster/log';
import { preparingStatements } from '@aster/prepared-statements';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { Calls, DONE_CHANNEL } from './call.ts';
import type { JobContract, PayloadOf } from './contracts.ts';
import { handlersByName, type HandlerEntry } from './handler.ts';
import { NotificationListener } from './listener.ts';
import { addFetchIndex, workerStatements } from './pgboss10.ts';
import { Sender, type ManyItem, type SendOptions, type SqlRunner } from './send.ts';
import { VersionCaps, type VersionCap } from './versions.ts';
import { WakeUps } from './wake-ups.ts';
import { Lanes, QueueWorker, type WorkOptions } from './worker.ts';

export interface QueueOptions {
  retryLimit?: number;
  retryDelaySeconds?: number;
  /** A job active longer than this is taken to have died with its worker, and is retried. */
  expireInSeconds?: number;
}

export interface StartOptions {
  connectionString: string;
  log: Logger;
  applicationName?: string;
  /** Run pg-boss's maintenance (expiry, retention) in this process. */
  supervise?: boolean;
  max?: number;
  /** pg-boss's schema (tests give each file its own). */
  schema?: string;
  /** Install or upgrade pg-boss's schema (default); a compute host, whose role may not, passes false. */
  migrate?: boolean;
  /** The newest version of each job this process sends, while older receivers remain (see `VersionCaps`). */
  versionCaps?: readonly VersionCap[];
}

/**
 * The job layer: pg-boss with wake-ups. A send announces its queue over LISTEN/NOTIFY, so a waiting worker
 * fetches at once instead of sleeping its polling interval; a job's completion is announced too, so `call` can
 * wait for an answer. pg-boss keeps the jobs, their retries and the expiry of jobs whose worker died. Sending
 * is `Sender`'s, working a queue `QueueWorker`'s, calls `Calls`', and every statement on pg-boss's own tables
 * is in `pgboss10.ts`.
 */
export class Jobs {
  private readonly listener: NotificationListener;
  private readonly wakeUps: WakeUps;
  private readonly sender: Sender;
  private readonly calls: Calls;
  private readonly lanes: Lanes;
  private readonly statements: ReturnType<typeof workerStatements>;
  private readonly loops: Promise<void>[] = [];
  private readonly knownQueues = new Set<string>();
  private stopped = false;
  /** The newest version of each job this process sends, per queue or for all. */
  readonly versionCaps: VersionCaps;

  private constructor(
    private readonly options: { connectionString: string; log: Logger; applicationName: string; schema: string; versionCaps?: readonly VersionCap[] | undefined },
    private readonly boss: PgBoss,
    private readonly pool: pg.Pool,
  ) {
    this.listener = new NotificationListener({
      connectionString: options.connectionString,
      applicationName: `${options.applicationName}-listen`,
      log: options.log,
      what: 'job wake-up',
      onNotification: (channel, payload) => {
        if (channel === DONE_CHANNEL) {
          if (payload) this.calls.answered(payload);
        } else this.wakeUps.notified(channel);
      },
      // Whatever was sent while deaf is picked up now.
      onReconnect: () => this.wakeUps.pokeAll(),
    });
    this.wakeUps = new WakeUps(this.listener);
    this.versionCaps = new VersionCaps(options.versionCaps);
    this.sender = new Sender(boss, pool, options.schema, this.versionCaps);
    this.calls = new Calls(boss, (contract, queue, payload, o) => this.sender.send(contract, queue, payload as never, o));
    this.lanes = new Lanes(options.connectionString, options.applicationName);
    this.statements = workerStatements(options.schema);
  }

  /**
   * Connects, installs or upgrades pg-boss's schema (locked, so several processes may start at once) and
   * starts listening for wake-ups. `supervise` runs pg-boss's maintenance (expiry, retention) in this process.
   */
  static async start(options: StartOptions): Promise<Jobs> {
    const applicationName = options.applicationName ?? 'aster-jobs';
    const schema = options.schema ?? 'pgboss';
    // pg-boss's own statements are prepared once per connection too, like the rest of Aster's.
    const pool = preparingStatements(new pg.Pool({ connectionString: options.connectionString, application_name: applicationName, max: options.max ?? 4 }));
    pool.on('error', () => {});
    const boss = new PgBoss({
      db: { executeSql: (text: string, values?: unknown[]) => pool.query(text, values) },
      ...(options.schema ? { schema: options.schema } : {}),
      supervise: options.supervise ?? false,
      schedule: false,
      migrate: options.migrate ?? true,
      // Jobs are kept for a day after they finish, for operators reading a history.
      deleteAfterDays: 1,
    });
    boss.on('error', (error: unknown) => options.log.warn('job queue error', { error }));
    await boss.start();
    if (options.migrate ?? true) await addFetchIndex(pool, schema);
    const jobs = new Jobs({ connectionString: options.connectionString, log: options.log, applicationName, schema, versionCaps: options.versionCaps }, boss, pool);
    await jobs.listener.start([DONE_CHANNEL]);
    return jobs;
  }

  /** Creates a queue if it does not exist (idempotent). */
  async ensureQueue(name: string, options: QueueOptions = {}): Promise<void> {
    if (this.knownQueues.has(name)) return;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.boss.createQueue(name, {
          name,
          retryLimit: options.retryLimit ?? 3,
          retryDelay: options.retryDelaySeconds ?? 1,
          expireInSeconds: options.expireInSeconds ?? 15 * 60,
        });
        break;
      } catch (error) {
        // Two processes creating the same queue at once: one wins, the other sees a duplicate. Many queues made
        // at once (a fleet of hosts starting) can deadlock in pg-boss's create_queue: Postgres ends one, which
        // tries again a random moment later.
        if (attempt >= 9) throw error;
        await sleep(20 + Math.floor(Math.random() * 180));
      }
    }
    this.knownQueues.add(name);
  }

  /**
   * Sends a job; answers its id. The payload is checked against the contract before it leaves, and written in
   * the newest version the queue may receive (see `versionCaps`); a payload with no form in that version throws.
   */
  send<C extends JobContract>(contract: C, queue: string, payload: PayloadOf<C>, options: SendOptions): Promise<string> {
    return this.sender.send(contract, queue, payload, options);
  }

  /**
   * Sends jobs, to one queue or several, inside the caller's transaction and in one statement (see
   * `Sender.sendMany`); a job to a queue that does not exist throws, naming it.
   */
  sendMany(items: ManyItem[], options: { requestId: string; db: SqlRunner }): Promise<void> {
    return this.sender.sendMany(items, options);
  }

  /**
   * Sends a job and waits for its handler's answer (the job's output). Throws the handler's error message if
   * it failed, or a timeout naming the queue if nobody answered in time.
   */
  call<C extends JobContract>(contract: C, queue: string, payload: PayloadOf<C>, options: SendOptions & { timeoutMs: number }): Promise<unknown> {
    return this.calls.call(contract, queue, payload, options);
  }

  /**
   * Works a queue with the given handlers until `stop`. A handler's answer completes the job; a throw fails it
   * (pg-boss retries it up to the queue's retry limit). A job whose name has no handler here, whose version its
   * contract does not accept here, or whose payload does not parse, fails at once without retry, saying why.
   */
  work(queue: string, entries: HandlerEntry[], options: WorkOptions = {}): void {
    const worker = new QueueWorker(queue, handlersByName(queue, entries), options, {
      boss: this.boss,
      pool: this.pool,
      lane: this.lanes.of(queue),
      statements: this.statements,
      wakeUps: this.wakeUps,
      log: this.options.log,
      stopped: () => this.stopped,
    });
    this.loops.push(worker.loop());
  }

  /** Stops fetching, lets running handlers finish (up to `graceMs`), then disconnects. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wakeUps.pokeAll();
    await Promise.race([Promise.all(this.loops), sleep(graceMs)]);
    await this.listener.stop();
    await this.boss.stop({ graceful: false, wait: true, timeout: 1000 }).catch(() => {});
    await this.lanes.end();
    await this.pool.end().catch(() => {});
  }
}
