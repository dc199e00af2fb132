import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@aster/log';
import { preparingStatements } from '@aster/prepared-statements';
import pg from 'pg';
import type PgBoss from 'pg-boss';
import { announceDone } from './call.ts';
import { admit, type Admitted, type Envelope, type HandlerEntry, type JobContext } from './handler.ts';
import { isMissingQueue, type TakenRow, type workerStatements } from './pgboss10.ts';
import type { SqlRunner } from './send.ts';
import type { WakeUps } from './wake-ups.ts';

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
 * The settings of the connections that take and finish jobs (`workerStatements`' statements, and nothing else):
 * commits that do not wait for the disk (see `Lanes`), one generic plan per statement and connection, and no
 * sequential scans, so that the plan made while a queue is still nearly empty reads rows by address and by
 * index as it must once the queue holds a day of jobs.
 */
export const WORKER_SESSION = '-c synchronous_commit=off -c plan_cache_mode=force_generic_plan -c enable_seqscan=off';

/**
 * The connections workers take and finish jobs on. Fetching and finishing jobs commit without waiting for the
 * disk: after a crash of Postgres itself, a job may be handed out again (every handler is idempotent), but
 * nothing is lost or half-written. Sends keep waiting: a lost send would be a lost message.
 *
 * Prepared, with one generic plan per connection: these run only `workerStatements`' statements, made for it
 * (left to choose, Postgres would plan each anew for its first five calls on each connection). Four lanes of
 * one connection each, every queue keeping to one of them: a connection then plans and caches the statements
 * of its own queues only, once (a fleet of hosts in one process works hundreds of queues, each a few times a
 * minute, and the first use of a queue's partition on a connection costs more than taking its jobs).
 */
export class Lanes {
  private readonly lanes: pg.Pool[];
  private readonly byQueue = new Map<string, pg.Pool>();

  constructor(connectionString: string, applicationName: string) {
    this.lanes = Array.from({ length: 4 }, () => {
      const lane = preparingStatements(new pg.Pool({ connectionString, application_name: `${applicationName}-work`, max: 1, options: WORKER_SESSION }));
      lane.on('error', () => {});
      return lane;
    });
  }

  /** The lane of a queue: the queues this process works are dealt to the lanes in turn. */
  of(queue: string): pg.Pool {
    let lane = this.byQueue.get(queue);
    if (!lane) {
      lane = this.lanes[this.byQueue.size % this.lanes.length]!;
      this.byQueue.set(queue, lane);
    }
    return lane;
  }

  async end(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.end().catch(() => {})));
  }
}

/** A job as a worker took it. */
type TakenJob = TakenRow & { data: Envelope };

export interface WorkerDeps {
  boss: PgBoss;
  /** For announcing the end of jobs someone waits for. */
  pool: SqlRunner;
  lane: pg.Pool;
  statements: ReturnType<typeof workerStatements>;
  wakeUps: WakeUps;
  log: Logger;
  stopped: () => boolean;
}

/**
 * One queue worked in this process: fetch its next jobs when woken (or at the poll), gather those sent close
 * together, run each through its handler (or many at once through a batch handler), complete or fail them.
 */
export class QueueWorker {
  constructor(
    private readonly queue: string,
    private readonly handlers: ReadonlyMap<string, HandlerEntry>,
    private readonly options: WorkOptions,
    private readonly d: WorkerDeps,
  ) {}

  async loop(): Promise<void> {
    const { queue, d } = this;
    const concurrency = this.options.concurrency ?? 8;
    const pollMs = (this.options.pollSeconds ?? 2) * 1000;
    const gatherMs = this.options.gatherMs ?? 0;
    let active = 0;
    let woken = false;
    let wake: (() => void) | null = null;
    const poke = () => {
      woken = true;
      wake?.();
    };
    const unsubscribe = d.wakeUps.add(queue, poke);
    // Listening starts before the first fetch, so a job sent in between wakes the loop.
    await d.wakeUps.listen(queue).catch((error: unknown) => d.log.warn('listening for wake-ups failed', { queue, error }));
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
      while (!d.stopped()) {
        const free = concurrency - active;
        if (free >= (behind ? batchWhenBehind : 1)) {
          // Wake-ups while gathering are answered by this fetch.
          if (gatherMs > 0 && !behind) await sleep(gatherMs);
          woken = false;
          const fetched = await this.fetch(free);
          if (fetched === null) {
            if (d.stopped()) break;
            await sleep(1000);
            continue;
          }
          active += fetched.length;
          this.start(fetched, finished);
          behind = fetched.length === free;
          if (behind) continue;
        }
        if (d.stopped()) continue;
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
      unsubscribe();
    }
  }

  /** Takes up to `free` jobs; none from a queue not made yet; null when the fetch failed (logged). */
  private async fetch(free: number): Promise<TakenJob[] | null> {
    try {
      return (await this.d.lane.query<TakenJob>(this.d.statements.take(this.queue), [this.queue, free])).rows;
    } catch (error) {
      // A queue not made yet has no partition (a new host works its queue before the conductor makes it on
      // hearing it started): nothing to take yet, as with an empty queue. Its first job's wake-up, or the poll,
      // looks again.
      if (isMissingQueue(error)) return [];
      if (!this.d.stopped()) this.d.log.warn('fetching jobs failed', { queue: this.queue, error });
      return null;
    }
  }

  /** Runs the jobs a fetch brought: those whose handler takes many at once together, by name; the others each on its own. */
  private start(fetched: TakenJob[], finished: (n: number) => void): void {
    const together = new Map<string, TakenJob[]>();
    for (const job of fetched) {
      const name = job.data && typeof job.data === 'object' ? job.data.job : undefined;
      if (name !== undefined && this.handlers.get(name)?.handleMany) {
        together.set(name, [...(together.get(name) ?? []), job]);
        continue;
      }
      void this.run(job).finally(() => finished(1));
    }
    for (const group of together.values()) void this.runMany(group).finally(() => finished(group.length));
  }

  /**
   * A job's handler, its checked payload and its context; or null, after failing for good a job no handler
   * here may run (no handler for its name, a version its contract does not accept here, a payload that does
   * not parse), with the reason as its output and in an error log line.
   */
  private async accept(job: TakenJob): Promise<(Admitted & { ctx: JobContext }) | null> {
    const admitted = admit(this.queue, job.data, this.handlers);
    if ('refused' in admitted) {
      const envelope = job.data as Partial<Envelope> | null;
      this.d.log.error('job refused', { queue: this.queue, job: envelope?.job, version: envelope?.v, jobId: job.id, requestId: envelope?.requestId, message: admitted.refused });
      try {
        await this.d.lane.query(this.d.statements.failForGood(this.queue), [this.queue, job.id, JSON.stringify({ message: admitted.refused })]);
        if (envelope?.reply) await announceDone(this.d.pool, [job.id]);
      } catch (error) {
        this.d.log.warn('recording a refused job failed', { queue: this.queue, jobId: job.id, error });
      }
      return null;
    }
    const ctx = { requestId: job.data.requestId, jobId: job.id, queue: this.queue, retryCount: job.retryCount, version: admitted.version };
    return { ...admitted, ctx };
  }

  /**
   * Marks jobs this worker took as completed, with `output`: where each row was taken from, and any row no
   * longer there (moved since) through pg-boss by id, which finishes it only if it is still active.
   */
  private async complete(jobs: TakenJob[], output: object | null): Promise<void> {
    const { rows } = await this.d.lane.query<{ id: string }>(this.d.statements.finish(this.queue), [
      jobs.map((j) => j.tid),
      jobs.map((j) => j.id),
      output === null ? null : JSON.stringify(output),
    ]);
    if (rows.length === jobs.length) return;
    const finished = new Set(rows.map((r) => r.id));
    const moved = jobs.filter((j) => !finished.has(j.id)).map((j) => j.id);
    // pg-boss's signature is (name, ids, data); its typings leave out data for many ids.
    const complete = this.d.boss.complete.bind(this.d.boss) as unknown as (name: string, ids: string[], data: object | null) => Promise<unknown>;
    await complete(this.queue, moved, output);
  }

  /** Jobs of one name handled at once, completed in one statement; after a throw, each on its own. */
  private async runMany(jobs: TakenJob[]): Promise<void> {
    const accepted = (await Promise.all(jobs.map(async (job) => ({ job, ok: await this.accept(job) })))).filter(
      (a): a is { job: TakenJob; ok: Admitted & { ctx: JobContext } } => a.ok !== null,
    );
    if (accepted.length === 0) return;
    const entry = accepted[0]!.ok.entry;
    try {
      await entry.handleMany!(accepted.map((a) => ({ payload: a.ok.payload, ctx: a.ok.ctx })) as never);
    } catch (error) {
      this.d.log.warn('jobs handled together failed; handling each on its own', { queue: this.queue, job: entry.contract.name, jobs: accepted.length, error });
      await Promise.all(accepted.map((a) => this.handle(a.job, a.ok)));
      return;
    }
    try {
      await this.complete(accepted.map((a) => a.job), null);
      await announceDone(this.d.pool, accepted.filter((a) => a.job.data.reply).map((a) => a.job.id));
    } catch (error) {
      this.d.log.warn('recording job results failed', { queue: this.queue, jobs: accepted.length, error });
    }
  }

  private async run(job: TakenJob): Promise<void> {
    const accepted = await this.accept(job);
    if (accepted) await this.handle(job, accepted);
  }

  /** Runs one accepted job's handler: its answer completes the job, a throw fails it (pg-boss retries it, if its queue allows). */
  private async handle(job: TakenJob, accepted: Admitted & { ctx: JobContext }): Promise<void> {
    const envelope = job.data;
    const finish = async (ok: boolean, data: unknown) => {
      try {
        if (ok) await this.complete([job], data as object | null);
        else await this.d.boss.fail(this.queue, job.id, data as object);
        if (envelope.reply) await announceDone(this.d.pool, [job.id]);
      } catch (error) {
        this.d.log.warn('recording a job result failed', { queue: this.queue, jobId: job.id, error });
      }
    };
    try {
      const result = await accepted.entry.handle(accepted.payload as never, accepted.ctx);
      await finish(true, result === undefined ? null : { value: result });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.d.log.warn('job failed', { queue: this.queue, job: envelope.job, jobId: job.id, requestId: envelope.requestId, retryCount: job.retryCount, error });
      await finish(false, { message });
    }
  }
}
