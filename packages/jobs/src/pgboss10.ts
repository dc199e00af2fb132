import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { hashedOnce } from './memo.ts';

/**
 * Every statement of Aster's that reads or writes pg-boss's tables itself, rather than through pg-boss's API,
 * and so depends on pg-boss 10's internals. Nothing else in the job layer names a pg-boss table, column or
 * state. What each statement assumes is listed below and checked by `test/pgboss10.test.ts` against a schema
 * that pg-boss itself made: after an upgrade of pg-boss, a failing check there names what to look at here.
 *
 *  - The schema is pg-boss's version 24 (`PGBOSS_SCHEMA_VERSION`), the one pg-boss 10.1 to 10.4 install.
 *  - `job` is partitioned by list of `name`: each queue's jobs are in a partition of their own, named
 *    `j` + the hex sha224 of the queue's name, made by `create_queue` (`partitionOf`).
 *  - `job_state` is an enum in this order: created, retry, active, completed, cancelled, failed, so that
 *    `state < 'active'` means a job that waits (`JOB_STATES`).
 *  - `job` has the columns of `JOB_COLUMNS`, of those types.
 *  - pg-boss takes a queue's jobs ordered by `priority DESC, created_on, id`, those with `start_after < now()`,
 *    and counts a retry when `started_on` was set; it completes a job by setting `completed_on`, `state` and
 *    `output` (`workerStatements` do the same on the partition).
 *  - pg-boss's inserts of one job and of many are the statements `withWakeUp` and `withWakeUps` recognise.
 */
export const PGBOSS_SCHEMA_VERSION = 24;

/** pg-boss's job states, in the enum's order. */
export const JOB_STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const;

/** The columns of pg-boss's `job` table these statements use, with their types as `format_type` names them. */
export const JOB_COLUMNS = {
  id: 'uuid',
  name: 'text',
  priority: 'integer',
  data: 'jsonb',
  state: 'job_state',
  retry_count: 'integer',
  start_after: 'timestamp with time zone',
  started_on: 'timestamp with time zone',
  created_on: 'timestamp with time zone',
  completed_on: 'timestamp with time zone',
  output: 'jsonb',
} as const;

/** Postgres's code for a table that does not exist: a queue not made yet has no partition. */
const UNDEFINED_TABLE = '42P01';

/** True for the error of a statement on the partition of a queue that has not been made yet. */
export function isMissingQueue(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === UNDEFINED_TABLE;
}

/** The partition that holds a queue's jobs, schema-qualified. */
export function partitionOf(schema: string): (queue: string) => string {
  return hashedOnce((queue) => `${schema}.j${createHash('sha224').update(queue).digest('hex')}`);
}

/**
 * The next jobs of a queue in the order pg-boss takes them, so that a fetch reads as many index entries as it
 * takes jobs. pg-boss's own index is by start time: with thousands of jobs waiting, every fetch read and sorted
 * them all. Made on the parent table, so every queue's partition has it, those made later too. Several
 * processes starting at once may race to make it: the loser finds it made.
 */
export async function addFetchIndex(db: { query(text: string): Promise<unknown> }, schema: string): Promise<void> {
  const sql = `CREATE INDEX IF NOT EXISTS aster_job_next ON ${schema}.job (name, priority DESC, created_on, id) WHERE state < 'active'`;
  for (let attempt = 0; ; attempt++) {
    try {
      await db.query(sql);
      return;
    } catch (error) {
      if (attempt >= 4) throw error;
      await sleep(50 + Math.floor(Math.random() * 200));
    }
  }
}

/**
 * A worker's statements, taking a queue's next jobs, finishing them and failing one for good, Aster's own on
 * pg-boss's tables. pg-boss 10 keeps each queue in a partition of its own and asks for a queue's jobs through
 * the parent table, so Postgres planned every fetch anew (a cached plan over a thousand host queues would cover
 * a thousand partitions), and planning was most of the cost. These name the partition, and are written so that
 * one generic plan, made once per connection, is right whatever a queue holds:
 *  - taking: the next rows in pg-boss's order through the partition's `aster_job_next` index, locked, skipping
 *    rows another worker holds; then updated in place by their row address (a TID scan, no choice of index
 *    left to statistics that a queue made empty a minute ago does not have yet). They take the rows pg-boss's
 *    fetch would for the standard policy, the only one `ensureQueue` makes (no singleton keys to hold back).
 *  - finishing: by row address again, each row checked to hold the same job, still active. A row that moved
 *    since it was taken (expired and retried, say) is not there: the caller finishes it by id instead.
 *  - failing for good: a job no handler here may run (see the worker's `accept`) is failed at once, whatever
 *    retries its queue allows (pg-boss's own `fail` would retry it), by id, as long as it is still active.
 */
export function workerStatements(schema: string): {
  take: (queue: string) => string;
  finish: (queue: string) => string;
  failForGood: (queue: string) => string;
} {
  const partition = partitionOf(schema);
  return {
    // $1 queue, $2 how many. Answers rows of `TakenRow`.
    take: hashedOnce(
      (queue) => `UPDATE ${partition(queue)} j SET state = 'active', started_on = now(),
        retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
      WHERE j.ctid = ANY (ARRAY(
        SELECT ctid FROM ${partition(queue)}
        WHERE name = $1 AND state < 'active' AND start_after < now()
        ORDER BY priority DESC, created_on, id
        LIMIT $2
        FOR UPDATE SKIP LOCKED
      ))
      RETURNING j.ctid::text AS tid, j.id, j.data, j.retry_count AS "retryCount"`,
    ),
    // $1 row addresses, $2 ids in the same order, $3 the output. The partition holds this queue's jobs alone.
    finish: hashedOnce(
      (queue) => `UPDATE ${partition(queue)} j SET completed_on = now(), state = 'completed', output = $3::jsonb
      FROM unnest($1::tid[], $2::uuid[]) AS t(tid, id)
      WHERE j.ctid = t.tid AND j.id = t.id AND j.state = 'active'
      RETURNING j.id`,
    ),
    // $1 queue, $2 id, $3 the output.
    failForGood: hashedOnce(
      (queue) => `UPDATE ${partition(queue)} j SET completed_on = now(), state = 'failed', output = $3::jsonb
      WHERE j.name = $1 AND j.id = $2::uuid AND j.state = 'active'
      RETURNING j.id`,
    ),
  };
}

/** A job as `take` answers it: where its row is (for finishing it), its id, its data, its retries so far. */
export interface TakenRow {
  id: string;
  /** The row's place in its partition when taken (its ctid); finishing the job looks there first. */
  tid: string;
  data: unknown;
  retryCount: number;
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
