import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@aster/log';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { preparingStatements } from '@aster/prepared-statements';
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

/**
 * Handles every job of one name that a fetch brought, at once (one transaction for many reports, say). It
 * either handles them all or throws; after a throw each job is handled again on its own by `handle`, so one
 * bad job fails alone. Jobs handled this way answer nothing.
 */
export type BatchHandler<C extends JobContract> = (jobs: { payload: ParsedOf<C>; ctx: JobContext }[]) => Promise<void>;

/** A queue's handler for one job name: made by `handler`, which keeps the payload's type. */
export interface HandlerEntry {
  contract: JobContract;
  handle: Handler<JobContract>;
  handleMany?: BatchHandler<JobContract>;
}

/**
 * The handler of one contract's jobs, typed by the contract: `handle` gets the parsed payload, and `handleMany`
 * (optional) every job of that name a fetch brought, at once.
 */
export function handler<C extends JobContract>(contract: C, handle: Handler<C>, handleMany?: BatchHandler<C>): HandlerEntry {
  return {
    contract,
    handle: handle as Handler<JobContract>,
    ...(handleMany ? { handleMany: handleMany as BatchHandler<JobContract> } : {}),
  };
}

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
  /**
   * Wake nobody: the job waits for its queue's next fetch (a poll within seconds, or the next job that wakes a
   * worker). For what is not in a hurry, such as a heartbeat: one statement less per send.
   */
  quiet?: boolean;
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
  /**
   * Waits this long before taking jobs, unless the queue is behind, so that jobs sent close together are taken
   * together (and handled together by a batch handler): a little latency for fewer, larger batches.
   */
  gatherMs?: number;
}

/**
 * Each queue has a wake-up channel of its own, so that a send wakes only the workers of its queue (with a
 * thousand hosts listening, one shared channel would wake them all for every job). Hashed: a queue name can
 * be longer than a channel name may be, and hold characters a channel name may not.
 */
export const wakeChannel = hashedOnce((queue) => `aster_q_${createHash('sha256').update(queue).digest('hex').slice(0, 32)}`);

/** `name` worked out once per queue and kept (up to a bound: queues are few, but nothing grows without end). */
function hashedOnce(name: (queue: string) => string): (queue: string) => string {
  const known = new Map<string, string>();
  return (queue) => {
    let answer = known.get(queue);
    if (answer === undefined) {
      answer = name(queue);
      if (known.size < 100_000) known.set(queue, answer);
    }
    return answer;
  };
}
const DONE_CHANNEL = 'aster_job_done';
/** Postgres's code for a table that does not exist. */
const UNDEFINED_TABLE = '42P01';

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
 * The settings of the connections that take and finish jobs (workerStatements' statements, and nothing else):
 * commits that do not wait for the disk (see `Jobs.lanes`), one generic plan per statement and connection,
 * and no sequential scans, so that the plan made while a queue is still nearly empty reads rows by address and
 * by index as it must once the queue holds a day of jobs.
 */
export const WORKER_SESSION = '-c synchronous_commit=off -c plan_cache_mode=force_generic_plan -c enable_seqscan=off';

/** A job as a worker takes it: where its row is (for finishing it), its id, its envelope, its retries so far. */
export interface TakenJob {
  id: string;
  /** The row's place in its partition when taken (its ctid); finishing the job looks there first. */
  tid: string;
  data: Envelope;
  retryCount: number;
}

/**
 * A worker's two statements, taking a queue's next jobs and finishing them, Aster's own on pg-boss's tables.
 * pg-boss 10 keeps each queue in a partition of its own (`j` + sha224 of the queue's name) and asks for a
 * queue's jobs through the parent table, so Postgres planned every fetch anew (a cached plan over a thousand
 * host queues would cover a thousand partitions), and planning was most of the cost. These name the partition,
 * and are written so that one generic plan, made once per connection, is right whatever a queue holds:
 *  - taking: the next rows in pg-boss's order through the partition's `aster_job_next` index, locked, skipping
 *    rows another worker holds; then updated in place by their row address (a TID scan, no choice of index
 *    left to statistics that a queue made empty a minute ago does not have yet). They take the rows pg-boss's
 *    fetch would for the standard policy, the only one `ensureQueue` makes (no singleton keys to hold back).
 *  - finishing: by row address again, each row checked to hold the same job, still active. A row that moved
 *    since it was taken (expired and retried, say) is not there: the caller finishes it by id instead.
 */
export function workerStatements(schema: string): { take: (queue: string) => string; finish: (queue: string) => string } {
  const partitionOf = hashedOnce((queue) => `${schema}.j${createHash('sha224').update(queue).digest('hex')}`);
  return {
    // $1 queue, $2 how many.
    take: hashedOnce(
      (queue) => `UPDATE ${partitionOf(queue)} j SET state = 'active', started_on = now(),
        retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
      WHERE j.ctid = ANY (ARRAY(
        SELECT ctid FROM ${partitionOf(queue)}
        WHERE name = $1 AND state < 'active' AND start_after < now()
        ORDER BY priority DESC, created_on, id
        LIMIT $2
        FOR UPDATE SKIP LOCKED
      ))
      RETURNING j.ctid::text AS tid, j.id, j.data, j.retry_count AS "retryCount"`,
    ),
    // $1 row addresses, $2 ids in the same order, $3 the output. The partition holds this queue's jobs alone.
    finish: hashedOnce(
      (queue) => `UPDATE ${partitionOf(queue)} j SET completed_on = now(), state = 'completed', output = $3::jsonb
      FROM unnest($1::tid[], $2::uuid[]) AS t(tid, id)
      WHERE j.ctid = t.tid AND j.id = t.id AND j.state = 'active'
      RETURNING j.id`,
    ),
  };
}

/**
 * pg-boss's insert of one job, with the queue's wake-up in the same statement: `WITH sent AS (insert … RETURNING
 * id) SELECT id, pg_notify(…) FROM sent`. A job that already existed (a fixed id sent again) inserts nothing and
 * wakes nobody. Null for any other statement (the caller then sends the wake-up on its own).
 */
export function withWakeUp(schema: string, text: string, values: unknown[], channel: string): { text: string; values: unknown[] } | null {
  if (!text.includes(`INSERT INTO ${schema}.job (`) || !/RETURNING id\s*$/.test(text)) return null;
  return { text: `WITH sent AS (${text}) SELECT sent.id, pg_notify($${values.length + 1}, '') FROM sent`, values: [...values, channel] };
}

/**
 * pg-boss's insert of many jobs (to one queue or several), with the wake-up of each queue in the same statement,
 * answering the queues the jobs went to (a job to a queue that does not exist is not inserted). Null for any
 * other statement.
 */
export function withWakeUps(schema: string, text: string, values: unknown[], channels: string[]): { text: string; values: unknown[] } | null {
  if (!text.includes(`INSERT INTO ${schema}.job (`) || !/ON CONFLICT DO NOTHING\s*$/.test(text)) return null;
  return {
    text: `WITH sent AS (${text} RETURNING name),
      woken AS MATERIALIZED (SELECT pg_notify(c, '') FROM unnest($${values.length + 1}::text[]) AS c WHERE EXISTS (SELECT FROM sent))
      SELECT (SELECT array_agg(name) FROM sent) AS queues, (SELECT count(*) FROM woken)::int AS woken`,
    values: [...values, channels],
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
  private readonly lanes: pg.Pool[];
  /** Each queue this process works keeps to one lane (see `laneOf`). */
  private readonly lanesOfQueues = new Map<string, pg.Pool>();
  private readonly statements: ReturnType<typeof workerStatements>;

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
    // Prepared, with one generic plan per connection: these run only workerStatements' statements, made for it
    // (left to choose, Postgres would plan each anew for its first five calls on each connection). Four lanes of
    // one connection each, every queue keeping to one of them: a connection then plans and caches the statements
    // of its own queues only, once (a fleet of hosts in one process works hundreds of queues, each a few times a
    // minute, and the first use of a queue's partition on a connection costs more than taking its jobs).
    this.lanes = Array.from({ length: 4 }, () => {
      const lane = preparingStatements(
        new pg.Pool({ connectionString: options.connectionString, application_name: `${options.applicationName}-work`, max: 1, options: WORKER_SESSION }),
      );
      lane.on('error', () => {});
      return lane;
    });
    this.statements = workerStatements(options.schema ?? 'pgboss');
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

  /** What a job carries: its contract's name and version, the request it serves, and the payload once checked. */
  private envelope(contract: JobContract, payload: unknown, options: { requestId: string; reply?: boolean }): Envelope {
    return {
      job: contract.name,
      v: contract.version,
      requestId: options.requestId,
      payload: contract.schema.parse(payload),
      ...(options.reply ? { reply: true } : {}),
    };
  }

  /** Sends a job; answers its id. The payload is checked against the contract before it leaves. */
  async send<C extends JobContract>(contract: C, queue: string, payload: PayloadOf<C>, options: SendOptions): Promise<string> {
    const envelope = this.envelope(contract, payload, options);
    // In the caller's transaction the wake-up goes in the insert's own statement (one round trip less). A send
    // of its own keeps them apart: Postgres holds its notification lock across the commit's disk flush, so a
    // committing insert that notifies would make every other notifying commit wait for its flush. A job to
    // start later wakes nobody now, unless it is sent inside the caller's transaction.
    const wake = options.quiet || (options.startAfterSeconds && !options.db) ? null : wakeChannel(queue);
    const run = (text: string, values: unknown[]) => (options.db ?? this.pool).query(text, values);
    let woken = false;
    const db = {
      executeSql: (text: string, values: unknown[]) => {
        const fused = wake && options.db ? withWakeUp(this.options.schema ?? 'pgboss', text, values, wake) : null;
        if (fused) woken = true;
        return fused ? run(fused.text, fused.values) : run(text, values);
      },
    };
    const id = await this.boss.send(queue, envelope as object, {
      ...(options.id ? { id: options.id } : {}),
      db,
      ...(options.retryLimit !== undefined ? { retryLimit: options.retryLimit } : {}),
      ...(options.retryDelaySeconds !== undefined ? { retryDelay: options.retryDelaySeconds } : {}),
      ...(options.startAfterSeconds ? { startAfter: options.startAfterSeconds } : {}),
    });
    if (!id && !options.id) throw new Error(`queue ${queue} does not exist`);
    // pg-boss sent a statement this does not recognise: the wake-up on its own, as before.
    if (wake && !woken) await run('SELECT pg_notify($1, $2)', [wake, '']);
    return id ?? options.id!;
  }

  /**
   * Sends jobs, to one queue or several, inside the caller's transaction and in one statement: pg-boss's insert
   * of many jobs with the wake-up of every queue in it (one notifying commit, however many queues). Each job
   * serves `options.requestId` unless it names its own. Every payload
   * is checked against its contract before any leaves; a job to a queue that does not exist throws, naming it, and
   * the caller's transaction then leaves no job.
   */
  async sendMany(
    items: { contract: JobContract; queue: string; payload: unknown; requestId?: string }[],
    options: { requestId: string; db: SqlRunner },
  ): Promise<void> {
    if (items.length === 0) return;
    // One job: pg-boss's insert of one, which costs Postgres less than its insert of many.
    if (items.length === 1) {
      const [item] = items as [(typeof items)[number]];
      await this.send(item.contract, item.queue, item.payload as never, { requestId: item.requestId ?? options.requestId, db: options.db });
      return;
    }
    const jobs = items.map((item) => ({ name: item.queue, data: this.envelope(item.contract, item.payload, { requestId: item.requestId ?? options.requestId }) }));
    const channels = [...new Set(items.map((item) => wakeChannel(item.queue)))];
    let sent: string[] | null = null;
    await this.boss.insert(jobs, {
      db: {
        executeSql: async (text: string, values: unknown[]) => {
          const fused = withWakeUps(this.options.schema ?? 'pgboss', text, values, channels);
          if (!fused) return options.db.query(text, values);
          const result = await options.db.query(fused.text, fused.values);
          sent = ((result.rows[0] as { queues: string[] | null } | undefined)?.queues ?? []) as string[];
          return { rows: [] };
        },
      },
    });
    if (sent === null) {
      // pg-boss sent a statement this does not recognise: it inserted the jobs; the wake-ups on their own.
      await options.db.query('SELECT pg_notify(c, $2) FROM unnest($1::text[]) AS c', [channels, '']);
      return;
    }
    const arrived = new Set(sent as string[]);
    const missing = [...new Set(items.map((item) => item.queue))].filter((queue) => !arrived.has(queue));
    if (missing.length) throw new Error(`queue ${missing.join(', ')} does not exist`);
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
  work(queue: string, entries: HandlerEntry[], options: WorkOptions = {}): void {
    const handlers: Record<string, HandlerEntry> = {};
    for (const entry of entries) {
      if (handlers[entry.contract.name]) throw new Error(`queue ${queue}: two handlers for ${entry.contract.name}`);
      handlers[entry.contract.name] = entry;
    }
    this.loops.push(this.loop(queue, handlers, options));
  }

  private async loop(queue: string, handlers: Record<string, HandlerEntry>, options: WorkOptions): Promise<void> {
    const concurrency = options.concurrency ?? 8;
    const pollMs = (options.pollSeconds ?? 2) * 1000;
    const gatherMs = options.gatherMs ?? 0;
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
      // A fetch is owed when a slot frees only if jobs may be waiting that no wake-up will announce again: the
      // queue was behind, or a wake-up came while every slot was busy. Otherwise a finished job fetches nothing
      // (an idle host would fetch an empty queue after every job), and the next job's wake-up comes on its own.
      let owed = false;
      const finished = (n: number) => {
        active -= n;
        if (owed) {
          owed = false;
          poke();
        }
      };
      while (!this.stopped) {
        const free = concurrency - active;
        if (free >= (behind ? batchWhenBehind : 1)) {
          // Wake-ups while gathering are answered by this fetch.
          if (gatherMs > 0 && !behind) await sleep(gatherMs);
          woken = false;
          let fetched: TakenJob[] = [];
          try {
            fetched = (await this.laneOf(queue).query<TakenJob>(this.statements.take(queue), [queue, free])).rows;
          } catch (error) {
            if (this.stopped) break;
            // A queue not made yet has no partition (a new host works its queue before the conductor makes it on
            // hearing it started): nothing to take yet, as with an empty queue. Its first job's wake-up, or the
            // poll, looks again.
            if ((error as { code?: string }).code !== UNDEFINED_TABLE) {
              this.options.log.warn('fetching jobs failed', { queue, error });
              await sleep(1000);
              continue;
            }
          }
          // Jobs whose handler takes many at once go together, by name; the others run each on its own.
          const together = new Map<string, TakenJob[]>();
          for (const job of fetched) {
            active++;
            const name = job.data && typeof job.data === 'object' ? job.data.job : undefined;
            if (name !== undefined && handlers[name]?.handleMany) {
              together.set(name, [...(together.get(name) ?? []), job]);
              continue;
            }
            void this.run(queue, job, handlers).finally(() => finished(1));
          }
          for (const group of together.values()) {
            void this.runMany(queue, group, handlers).finally(() => finished(group.length));
          }
          behind = fetched.length === free;
          if (behind) continue;
        }
        if (this.stopped) continue;
        // Woken while a slot is free: fetch again. With every slot busy (or too few while behind), wait for a
        // finishing job's poke.
        if (woken && active < concurrency && !behind) continue;
        owed = behind || woken || active >= concurrency;
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

  /**
   * A job's handler and its checked payload; or null, after deleting a job no handler here can take (an unknown
   * name, a payload that does not parse, a version not understood), with the reason logged.
   */
  private async accept(
    queue: string,
    job: TakenJob,
    handlers: Record<string, HandlerEntry>,
  ): Promise<{ entry: HandlerEntry; payload: unknown; ctx: JobContext } | null> {
    const envelope = job.data;
    const entry = envelope && typeof envelope === 'object' ? handlers[envelope.job] : undefined;
    if (!entry) {
      this.options.log.error('job without a handler', { queue, job: envelope?.job, jobId: job.id });
      await this.boss.deleteJob(queue, job.id).catch(() => {});
      return null;
    }
    const parsed = entry.contract.schema.safeParse(envelope.payload);
    if (!parsed.success || envelope.v !== entry.contract.version) {
      const message = parsed.success
        ? `${envelope.job} version ${envelope.v} is not understood here (version ${entry.contract.version})`
        : `${envelope.job}: bad payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
      this.options.log.error('job refused', { queue, jobId: job.id, message });
      await this.boss.deleteJob(queue, job.id).catch(() => {});
      return null;
    }
    return { entry, payload: parsed.data, ctx: { requestId: envelope.requestId, jobId: job.id, queue, retryCount: job.retryCount } };
  }

  /** The lane of a queue: the queues this process works are dealt to the lanes in turn. */
  private laneOf(queue: string): pg.Pool {
    let lane = this.lanesOfQueues.get(queue);
    if (!lane) {
      lane = this.lanes[this.lanesOfQueues.size % this.lanes.length]!;
      this.lanesOfQueues.set(queue, lane);
    }
    return lane;
  }

  /**
   * Marks jobs this worker took as completed, with `output`: where each row was taken from, and any row no
   * longer there (moved since) through pg-boss by id, which finishes it only if it is still active.
   */
  private async complete(queue: string, jobs: TakenJob[], output: object | null): Promise<void> {
    const { rows } = await this.laneOf(queue).query<{ id: string }>(this.statements.finish(queue), [
      jobs.map((j) => j.tid),
      jobs.map((j) => j.id),
      output === null ? null : JSON.stringify(output),
    ]);
    if (rows.length === jobs.length) return;
    const finished = new Set(rows.map((r) => r.id));
    const moved = jobs.filter((j) => !finished.has(j.id)).map((j) => j.id);
    // pg-boss's signature is (name, ids, data); its typings leave out data for many ids.
    const complete = this.boss.complete.bind(this.boss) as unknown as (name: string, ids: string[], data: object | null) => Promise<unknown>;
    await complete(queue, moved, output);
  }

  /** Jobs of one name handled at once, completed in one statement; after a throw, each on its own. */
  private async runMany(queue: string, jobs: TakenJob[], handlers: Record<string, HandlerEntry>): Promise<void> {
    const accepted = (await Promise.all(jobs.map(async (job) => ({ job, ok: await this.accept(queue, job, handlers) })))).filter((a) => a.ok !== null);
    if (accepted.length === 0) return;
    const entry = accepted[0]!.ok!.entry;
    try {
      await entry.handleMany!(accepted.map((a) => ({ payload: a.ok!.payload, ctx: a.ok!.ctx })) as never);
    } catch (error) {
      this.options.log.warn('jobs handled together failed; handling each on its own', { queue, job: accepted[0]!.job.data.job, jobs: accepted.length, error });
      await Promise.all(accepted.map((a) => this.run(queue, a.job, handlers)));
      return;
    }
    try {
      await this.complete(queue, accepted.map((a) => a.job), null);
      for (const a of accepted) if (a.job.data.reply) await this.boss.getDb().executeSql('SELECT pg_notify($1, $2)', [DONE_CHANNEL, a.job.id]);
    } catch (error) {
      this.options.log.warn('recording job results failed', { queue, jobs: accepted.length, error });
    }
  }

  private async run(queue: string, job: TakenJob, handlers: Record<string, HandlerEntry>): Promise<void> {
    const envelope = job.data;
    const finish = async (ok: boolean, data: unknown) => {
      try {
        if (ok) await this.complete(queue, [job], data as object | null);
        else await this.boss.fail(queue, job.id, data as object);
        if (envelope?.reply) await this.boss.getDb().executeSql('SELECT pg_notify($1, $2)', [DONE_CHANNEL, job.id]);
      } catch (error) {
        this.options.log.warn('recording a job result failed', { queue, jobId: job.id, error });
      }
    };
    const accepted = await this.accept(queue, job, handlers);
    if (!accepted) return;
    const { entry, ctx } = accepted;
    try {
      const result = await entry.handle(accepted.payload as never, ctx);
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
    await Promise.all(this.lanes.map((lane) => lane.end().catch(() => {})));
    await this.pool.end().catch(() => {});
  }
}
