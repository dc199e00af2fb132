import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@aster/log';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { preparingStatements } from '@aster/db';
import type { JobContract, ParsedOf, PayloadOf } from './contracts.ts';
import { NotificationListener } from './listener.ts';

/** What travels in a pg-boss job: the contract's name and version, the request it serves, the payload. */
export interface Envelope {
  job: string;
  v: number;
  requestId: string;
  payload: unknown;
  /** Set by `call`: someone waits for this job's answer, so its end is announced. */
  reply?: boolean;
}

export interface JobContext {
  requestId: string;
  jobId: string;
  queue: string;
  /** 0 on the first delivery; a retry after a crash or a throw counts up. */
  retryCount: number;
}

export type Handler<C extends JobContract> = (payload: ParsedOf<C>, ctx: JobContext) => Promise<unknown>;

/** Something that runs SQL: a pool, or a client inside the caller's transaction. */
export interface SqlRunner {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface SendOptions {
  requestId: string;
  /** Send inside this transaction: the job exists only if the transaction commits. */
  db?: SqlRunner;
  retryLimit?: number;
  retryDelaySeconds?: number;
  /** Fixed id, so that sending twice (a retried handler) makes one job. */
  id?: string;
  startAfterSeconds?: number;
  /** Announce the job's end (for `call`, which waits for its answer). */
  reply?: boolean;
}

export interface QueueOptions {
  retryLimit?: number;
  retryDelaySeconds?: number;
  /** A job active longer than this is taken to have died with its worker, and is retried. */
  expireInSeconds?: number;
}

export interface WorkOptions {
  /** How many jobs of this queue run at once in this process. */
  concurrency?: number;
  /** Fallback poll when no wake-up arrives (a lost notification, a job whose start time came). */
  pollSeconds?: number;
}

/**
 * Each queue has a wake-up channel of its own, so that a send wakes only the workers of its queue (with a
 * thousand hosts listening, one shared channel would wake them all for every job). Hashed: a queue name can
 * be longer than a channel name may be, and hold characters a channel name may not.
 */
export function wakeChannel(queue: string): string {
  return `aster_q_${createHash('sha256').update(queue).digest('hex').slice(0, 32)}`;
}
const DONE_CHANNEL = 'aster_job_done';

/**
 * The next jobs of a queue in the order pg-boss takes them, so that a fetch reads as many index entries as it
 * takes jobs. pg-boss's own index is by start time: with thousands of jobs waiting, every fetch read and sorted
 * them all. Made on the parent table, so every queue's partition has it, those made later too. Several
 * processes starting at once may race to make it: the loser finds it made.
 */
async function addFetchIndex(pool: pg.Pool, schema: string): Promise<void> {
  const sql = `CREATE INDEX IF NOT EXISTS aster_job_next ON ${schema}.job (name, priority DESC, created_on, id) WHERE state < 'active'`;
  for (let attempt = 0; ; attempt++) {
    try {
      await pool.query(sql);
      return;
    } catch (error) {
      if (attempt >= 4) throw error;
      await sleep(50 + Math.floor(Math.random() * 200));
    }
  }
}

/**
 * pg-boss 10 keeps each queue in a partition of its own, and asks for a queue's jobs through the parent table.
 * Postgres then plans every fetch and completion anew (a cached plan over a thousand host queues would cover
 * a thousand partitions), and planning was most of their cost. Those two statements are sent to the queue's
 * own partition instead (pg-boss names it `j` + sha224 of the queue's name): the same rows, planned once per
 * connection. Any other statement, or a text this does not recognise, goes through unchanged.
 */
export function onItsPartition(schema: string): (text: string, values?: unknown[]) => string {
  const parent = `${schema}.job`;
  return (text, values) => {
    const queue = values?.[0];
    if (typeof queue !== 'string' || !text.includes('WHERE name = $1')) return text;
    const fetch = text.includes('WITH next as (') && text.includes('FOR UPDATE SKIP LOCKED');
    const complete = text.includes('WITH results AS (') && text.includes('SET completed_on = now()');
    if (!fetch && !complete) return text;
    return text.replaceAll(`${parent}\n`, `${schema}.j${createHash('sha224').update(queue).digest('hex')}\n`).replaceAll(
      `${parent} j `,
      `${schema}.j${createHash('sha224').update(queue).digest('hex')} j `,
    );
  };
}

/**
 * pg-boss with wake-ups: a send announces its queue over LISTEN/NOTIFY, so a waiting worker fetches at once
 * instead of sleeping its polling interval; a job's completion is announced too, so `call` can wait for an
 * answer. pg-boss keeps the jobs, their retries and the expiry of jobs whose worker died.
 */
export class Jobs {
  private readonly boss: PgBoss;
  private readonly listener: NotificationListener;
  private readonly wakers = new Map<string, Set<() => void>>();
  private readonly waitingCalls = new Map<string, () => void>();
  private readonly loops: Promise<void>[] = [];
  private readonly knownQueues = new Set<string>();
  /** Wake-up channel → queue, for the queues this process works. */
  private readonly channels = new Map<string, string>();
  private stopped = false;
  /**
   * Fetching and finishing jobs commit without waiting for the disk: after a crash of Postgres itself, a job
   * may be handed out again (every handler is idempotent), but nothing is lost or half-written. Sends keep
   * waiting: a lost send would be a lost message.
   */
  private readonly relaxed: pg.Pool;
  private readonly relaxedDb: { executeSql: (text: string, values: unknown[]) => Promise<{ rows: unknown[] }> };

  private constructor(
    private readonly options: { connectionString: string; log: Logger; applicationName: string; schema?: string | undefined },
    boss: PgBoss,
    private readonly pool: pg.Pool,
  ) {
    this.boss = boss;
    this.listener = new NotificationListener({
      connectionString: options.connectionString,
      applicationName: `${options.applicationName}-listen`,
      log: options.log,
      what: 'job wake-up',
      onNotification: (channel, payload) => {
        const queue = this.channels.get(channel);
        if (queue) for (const poke of this.wakers.get(queue) ?? []) poke();
        if (channel === DONE_CHANNEL && payload) this.waitingCalls.get(payload)?.();
      },
      // Whatever was sent while deaf is picked up now.
      onReconnect: () => {
        for (const set of this.wakers.values()) for (const poke of set) poke();
      },
    });
    this.relaxed = new pg.Pool({
      connectionString: options.connectionString,
      application_name: `${options.applicationName}-work`,
      max: 4,
      options: '-c synchronous_commit=off',
    });
    this.relaxed.on('error', () => {});
    const partitions = onItsPartition(options.schema ?? 'pgboss');
    // Not prepared: a cached generic plan for "the next jobs" scans what the queue has done; planned each time
    // on the one partition, it costs little and uses the pending-jobs index.
    this.relaxedDb = { executeSql: (text, values) => this.relaxed.query({ text: partitions(text, values), ...(values ? { values } : {}) }) };
  }

  /**
   * Connects, installs or upgrades pg-boss's schema (locked, so several processes may start at once) and
   * starts listening for wake-ups. `supervise` runs pg-boss's maintenance (expiry, retention) in this process.
   */
  static async start(options: {
    connectionString: string;
    log: Logger;
    applicationName?: string;
    supervise?: boolean;
    max?: number;
    /** pg-boss's schema (tests give each file its own). */
    schema?: string;
    /** Install or upgrade pg-boss's schema (default); a compute host, whose role may not, passes false. */
    migrate?: boolean;
  }): Promise<Jobs> {
    const applicationName = options.applicationName ?? 'aster-jobs';
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
    if (options.migrate ?? true) await addFetchIndex(pool, options.schema ?? 'pgboss');
    const jobs = new Jobs({ connectionString: options.connectionString, log: options.log, applicationName, schema: options.schema }, boss, pool);
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

  /** Sends a job; answers its id. The payload is checked against the contract before it leaves. */
  async send<C extends JobContract>(contract: C, queue: string, payload: PayloadOf<C>, options: SendOptions): Promise<string> {
    const parsed = contract.schema.parse(payload);
    const envelope: Envelope = {
      job: contract.name,
      v: contract.version,
      requestId: options.requestId,
      payload: parsed,
      ...(options.reply ? { reply: true } : {}),
    };
    const db = options.db ? { executeSql: (text: string, values: unknown[]) => options.db!.query(text, values) } : undefined;
    const id = await this.boss.send(queue, envelope as object, {
      ...(options.id ? { id: options.id } : {}),
      ...(db ? { db } : {}),
      ...(options.retryLimit !== undefined ? { retryLimit: options.retryLimit } : {}),
      ...(options.retryDelaySeconds !== undefined ? { retryDelay: options.retryDelaySeconds } : {}),
      ...(options.startAfterSeconds ? { startAfter: options.startAfterSeconds } : {}),
    });
    if (!id && !options.id) throw new Error(`queue ${queue} does not exist`);
    const notify = 'SELECT pg_notify($1, $2)';
    if (options.db) await options.db.query(notify, [wakeChannel(queue), '']);
    else if (!options.startAfterSeconds) await this.boss.getDb().executeSql(notify, [wakeChannel(queue), '']);
    return id ?? options.id!;
  }

  /**
   * Sends a job and waits for its handler's answer (the job's output). Throws the handler's error message if
   * it failed, or a timeout naming the queue if nobody answered in time.
   */
  async call<C extends JobContract>(contract: C, queue: string, payload: PayloadOf<C>, options: SendOptions & { timeoutMs: number }): Promise<unknown> {
    const id = randomUUID();
    const done = new Promise<void>((resolve) => this.waitingCalls.set(id, resolve));
    try {
      await this.send(contract, queue, payload, { ...options, id, retryLimit: 0, reply: true });
      const deadline = Date.now() + options.timeoutMs;
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) {
          await this.boss.cancel(queue, id).catch(() => {});
          throw new Error(`no answer from ${queue} within ${options.timeoutMs >= 1000 ? `${Math.round(options.timeoutMs / 1000)} s` : `${options.timeoutMs} ms`}`);
        }
        await Promise.race([done, sleep(Math.min(left, 1000))]);
        const job = await this.boss.getJobById(queue, id);
        if (job?.state === 'completed') return (job.output as { value?: unknown } | null)?.value ?? job.output;
        if (job?.state === 'failed') throw new Error((job.output as { message?: string } | null)?.message ?? `${contract.name} failed`);
      }
    } finally {
      this.waitingCalls.delete(id);
    }
  }

  /**
   * Works a queue with the given handlers until `stop`. A handler's answer completes the job; a throw fails it
   * (pg-boss retries it up to the queue's retry limit). A job whose name has no handler, or whose payload
   * does not parse, fails without retry.
   */
  work(queue: string, handlers: Record<string, { contract: JobContract; handle: Handler<JobContract> }>, options: WorkOptions = {}): void {
    this.loops.push(this.loop(queue, handlers, options));
  }

  private async loop(queue: string, handlers: Record<string, { contract: JobContract; handle: Handler<JobContract> }>, options: WorkOptions): Promise<void> {
    const concurrency = options.concurrency ?? 8;
    const pollMs = (options.pollSeconds ?? 2) * 1000;
    let active = 0;
    let woken = false;
    let wake: (() => void) | null = null;
    const poke = () => {
      woken = true;
      wake?.();
    };
    const set = this.wakers.get(queue) ?? new Set();
    set.add(poke);
    this.wakers.set(queue, set);
    if (!this.channels.has(wakeChannel(queue))) {
      this.channels.set(wakeChannel(queue), queue);
      // Listening starts before the first fetch, so a job sent in between wakes the loop.
      await this.listener.listen(wakeChannel(queue)).catch((error: unknown) => this.options.log.warn('listening for wake-ups failed', { queue, error }));
    }
    try {
      // Behind (the last fetch filled every free slot, so more jobs wait): the next fetch waits until a quarter of
      // the slots are free. Finding the next jobs costs Postgres about as much for one as for many while many
      // wait, so fetching one per finished job would spend more on fetching as the queue grows.
      let behind = false;
      const batchWhenBehind = Math.max(1, Math.floor(concurrency / 4));
      while (!this.stopped) {
        const free = concurrency - active;
        if (free >= (behind ? batchWhenBehind : 1)) {
          woken = false;
          let fetched: PgBoss.JobWithMetadata<Envelope>[] = [];
          try {
            fetched = await this.boss.fetch<Envelope>(queue, { batchSize: free, includeMetadata: true, db: this.relaxedDb });
          } catch (error) {
            if (this.stopped) break;
            this.options.log.warn('fetching jobs failed', { queue, error });
            await sleep(1000);
            continue;
          }
          for (const job of fetched) {
            active++;
            void this.run(queue, job, handlers).finally(() => {
              active--;
              poke();
            });
          }
          behind = fetched.length === free;
          if (behind) continue;
        }
        if (this.stopped) continue;
        // Woken while a slot is free: fetch again. With every slot busy (or too few while behind), wait for a
        // finishing job's poke.
        if (woken && active < concurrency && !behind) continue;
        woken = false;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
      while (active > 0) await sleep(20);
    } finally {
      set.delete(poke);
    }
  }

  private async run(queue: string, job: PgBoss.JobWithMetadata<Envelope>, handlers: Record<string, { contract: JobContract; handle: Handler<JobContract> }>): Promise<void> {
    const envelope = job.data;
    const entry = envelope && typeof envelope === 'object' ? handlers[envelope.job] : undefined;
    const finish = async (ok: boolean, data: unknown) => {
      try {
        if (ok) await this.boss.complete(queue, job.id, data as object, { db: this.relaxedDb });
        else await this.boss.fail(queue, job.id, data as object, { db: this.relaxedDb });
        if (envelope?.reply) await this.boss.getDb().executeSql('SELECT pg_notify($1, $2)', [DONE_CHANNEL, job.id]);
      } catch (error) {
        this.options.log.warn('recording a job result failed', { queue, jobId: job.id, error });
      }
    };
    if (!entry) {
      this.options.log.error('job without a handler', { queue, job: envelope?.job, jobId: job.id });
      await this.boss.deleteJob(queue, job.id).catch(() => {});
      return;
    }
    const parsed = entry.contract.schema.safeParse(envelope.payload);
    if (!parsed.success || envelope.v !== entry.contract.version) {
      const message = parsed.success
        ? `${envelope.job} version ${envelope.v} is not understood here (version ${entry.contract.version})`
        : `${envelope.job}: bad payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
      this.options.log.error('job refused', { queue, jobId: job.id, message });
      await this.boss.deleteJob(queue, job.id).catch(() => {});
      return;
    }
    const ctx: JobContext = { requestId: envelope.requestId, jobId: job.id, queue, retryCount: job.retryCount };
    try {
      const result = await entry.handle(parsed.data, ctx);
      await finish(true, result === undefined ? null : { value: result });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.options.log.warn('job failed', { queue, job: envelope.job, jobId: job.id, requestId: envelope.requestId, retryCount: job.retryCount, error });
      await finish(false, { message });
    }
  }

  /** Stops fetching, lets running handlers finish (up to `graceMs`), then disconnects. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const set of this.wakers.values()) for (const poke of set) poke();
    await Promise.race([Promise.all(this.loops), sleep(graceMs)]);
    await this.listener.stop();
    await this.boss.stop({ graceful: false, wait: true, timeout: 1000 }).catch(() => {});
    await this.relaxed.end().catch(() => {});
    await this.pool.end().catch(() => {});
  }
}
