import { handler, SCHEDULER_QUEUE, scheduleInstances } from '@aster/jobs';
import { scheduleRequests } from './decide.ts';
import { hostsOf, type SchedulerDeps } from './scheduler-config.ts';

export { checkSchedulerConfig, defaultSchedulerConfig, type SchedulerConfig, type SchedulerDeps } from './scheduler-config.ts';

/** At most `limit` at once; the others wait in the order they came. */
export class Turns {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // handed the turn of one that ended
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * The scheduler role: works the scheduler queue, one create request per job, requests taken together placed
 * together (decide.ts), ASTER_SCHEDULER_CONCURRENT_DECISIONS decisions at once. With a connection string, host
 * changes the database announces end the process's view of the hosts at once.
 */
export async function startScheduler(
  deps: SchedulerDeps & { connectionString?: string },
  options: { concurrency?: number } = {},
): Promise<{ stop(): Promise<void> }> {
  const hosts = hostsOf(deps);
  deps.turns ??= new Turns(deps.config.concurrentDecisions);
  if (deps.connectionString) await hosts.listen(deps.connectionString, deps.log);
  await deps.jobs.ensureQueue(SCHEDULER_QUEUE, { retryLimit: 5, expireInSeconds: 300 });
  deps.jobs.work(
    SCHEDULER_QUEUE,
    [
      handler(
        scheduleInstances,
        (p, ctx) => scheduleRequests(deps, [{ instanceIds: p.instanceIds, requestId: ctx.requestId }]),
        (jobs) => scheduleRequests(deps, jobs.map((j) => ({ instanceIds: j.payload.instanceIds, requestId: j.ctx.requestId }))),
      ),
    ],
    { concurrency: options.concurrency ?? 16 },
  );
  return { stop: () => hosts.stop() };
}
