import type PgBoss from 'pg-boss';
import type { JobContract, PayloadOf } from './contracts.ts';
import type { Envelope } from './handler.ts';
import { withWakeUp, withWakeUps } from './pgboss10.ts';
import { versionToSend, type VersionCaps } from './versions.ts';
import { wakeChannel } from './wake-ups.ts';

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
  /** Send this version at most (below the caps of the process and the queue, if they are lower). */
  version?: number;
}

/** One job of many sent together. */
export interface ManyItem {
  contract: JobContract;
  queue: string;
  payload: unknown;
  requestId?: string;
}

/**
 * Sending: every payload checked against its contract and written in the version the queue may receive, then
 * pg-boss's insert with the queue's wake-up in it where it can be.
 */
export class Sender {
  constructor(
    private readonly boss: PgBoss,
    private readonly pool: SqlRunner,
    private readonly schema: string,
    private readonly caps: VersionCaps,
  ) {}

  /**
   * What a job carries: its contract's name, the version it goes in, the request it serves, and the payload once
   * checked (and written for that version).
   */
  envelope(contract: JobContract, queue: string, payload: unknown, options: { requestId: string; reply?: boolean; version?: number }): Envelope {
    const checked = contract.schema.parse(payload);
    const queueCap = this.caps.capOf(contract.name, queue);
    const cap = options.version === undefined ? queueCap : Math.min(options.version, queueCap ?? options.version);
    const sent = versionToSend(contract, checked, queue, cap);
    return { job: contract.name, v: sent.v, requestId: options.requestId, payload: sent.payload, ...(options.reply ? { reply: true } : {}) };
  }

  /** Sends a job; answers its id. The payload is checked against the contract before it leaves. */
  async send<C extends JobContract>(contract: C, queue: string, payload: PayloadOf<C>, options: SendOptions): Promise<string> {
    const envelope = this.envelope(contract, queue, payload, options);
    // In the caller's transaction the wake-up goes in the insert's own statement (one round trip less). A send
    // of its own keeps them apart: Postgres holds its notification lock across the commit's disk flush, so a
    // committing insert that notifies would make every other notifying commit wait for its flush. A job to
    // start later wakes nobody now, unless it is sent inside the caller's transaction.
    const wake = options.quiet || (options.startAfterSeconds && !options.db) ? null : wakeChannel(queue);
    const run = (text: string, values: unknown[]) => (options.db ?? this.pool).query(text, values);
    let woken = false;
    const db = {
      executeSql: (text: string, values: unknown[]) => {
        const fused = wake && options.db ? withWakeUp(this.schema, text, values, wake) : null;
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
   * serves `options.requestId` unless it names its own. Every payload is checked against its contract before
   * any leaves; a job to a queue that does not exist throws, naming it, and the caller's transaction then leaves
   * no job.
   */
  async sendMany(items: ManyItem[], options: { requestId: string; db: SqlRunner }): Promise<void> {
    if (items.length === 0) return;
    // One job: pg-boss's insert of one, which costs Postgres less than its insert of many.
    if (items.length === 1) {
      const [item] = items as [ManyItem];
      await this.send(item.contract, item.queue, item.payload as never, { requestId: item.requestId ?? options.requestId, db: options.db });
      return;
    }
    const jobs = items.map((item) => ({ name: item.queue, data: this.envelope(item.contract, item.queue, item.payload, { requestId: item.requestId ?? options.requestId }) }));
    const channels = [...new Set(items.map((item) => wakeChannel(item.queue)))];
    let sent: string[] | null = null;
    await this.boss.insert(jobs, {
      db: {
        executeSql: async (text: string, values: unknown[]) => {
          const fused = withWakeUps(this.schema, text, values, channels);
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
}
