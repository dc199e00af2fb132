import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type PgBoss from 'pg-boss';
import type { JobContract, PayloadOf } from './contracts.ts';
import type { SendOptions, SqlRunner } from './send.ts';

/** Where the end of a job someone waits for is announced, its id as the payload. */
export const DONE_CHANNEL = 'aster_job_done';

/** Announces the end of jobs sent by `call` (their waiters look at the job at once rather than at their poll). */
export async function announceDone(db: SqlRunner, ids: string[]): Promise<void> {
  if (ids.length === 1) await db.query('SELECT pg_notify($1, $2)', [DONE_CHANNEL, ids[0]]);
  else if (ids.length > 1) await db.query('SELECT pg_notify($1, id) FROM unnest($2::text[]) AS id', [DONE_CHANNEL, ids]);
}

/**
 * Calls: a job sent to a queue whose sender waits for its handler's answer (Nova's `call`, where `send` is its
 * `cast`). The job is retried never; its end is announced on `DONE_CHANNEL`, and its state read through pg-boss.
 */
export class Calls {
  private readonly waiting = new Map<string, () => void>();

  constructor(
    private readonly boss: PgBoss,
    private readonly send: (contract: JobContract, queue: string, payload: unknown, options: SendOptions) => Promise<string>,
  ) {}

  /** The end of job `id` was announced. */
  answered(id: string): void {
    this.waiting.get(id)?.();
  }

  /**
   * Sends a job and waits for its handler's answer (the job's output). Throws the handler's error message if
   * it failed (or the reason a receiver refused it), or a timeout naming the queue if nobody answered in time.
   */
  async call<C extends JobContract>(contract: C, queue: string, payload: PayloadOf<C>, options: SendOptions & { timeoutMs: number }): Promise<unknown> {
    const id = randomUUID();
    const done = new Promise<void>((resolve) => this.waiting.set(id, resolve));
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
      this.waiting.delete(id);
    }
  }
}
