import { powerStates as power } from '@aster/compute';
import {
  actionResult,
  buildInstance,
  buildProgress,
  buildResult,
  computeQueue,
  CONDUCTOR_QUEUE,
  getConsoleLog,
  hostHeartbeat,
  hostStarted,
  hostStopped,
  powerStates,
  serverAction,
  terminateInstance,
  type Handler,
  type JobContract,
  type Jobs,
  type ParsedOf,
  type PayloadOf,
} from '@aster/jobs';
import type { Logger } from '@aster/log';
import { DriverError, InstanceNotFound, type Driver } from '@aster/virt';

export interface AgentOptions {
  host: string;
  jobs: Jobs;
  driver: Driver;
  log: Logger;
  heartbeatSeconds?: number;
  /** How often every instance's power state is compared with what the hypervisor says, seconds. */
  powerSyncSeconds?: number;
  concurrency?: number;
}

const LIVE_PROGRESS_AFTER_MS = 300;

/** The words a tenant reads for a failure: the hypervisor's own message, or a plain summary. */
function describe(error: unknown): { error: string; details?: string } {
  if (error instanceof DriverError) return { error: error.message, ...(error.details ? { details: error.details } : {}) };
  if (error instanceof Error) return { error: error.message, ...(error.stack ? { details: error.stack } : {}) };
  return { error: String(error) };
}

/**
 * One compute host (nova-compute): registers itself and its inventory through the conductor, heartbeats,
 * works only its own queue and reports every outcome back. It never touches instance tables. Work on one
 * instance runs in the order it arrived (a delete waits for the build before it), work on different
 * instances in parallel.
 */
export class ComputeAgent {
  private readonly queue: string;
  private readonly chains = new Map<string, Promise<unknown>>();
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly o: AgentOptions) {
    this.queue = computeQueue(o.host);
  }

  async start(): Promise<void> {
    const { jobs, driver, host, log } = this.o;
    await driver.init();
    // The conductor creates this host's queue when it hears of the host: a host's database role may use the
    // queues but not create them. Until then the worker below simply finds nothing.
    const [inventory, capabilities, instances] = await Promise.all([driver.inventory(), driver.capabilities(), driver.list()]);
    await this.report(hostStarted, { host, inventory, capabilities, instances: instances.map((i) => ({ id: i.id, powerState: i.powerState })) }, `start-${host}`);

    const entry = <C extends JobContract>(contract: C, handle: (p: ParsedOf<C>, requestId: string) => Promise<unknown>) => ({
      contract,
      handle: ((p, ctx) => handle(p as ParsedOf<C>, ctx.requestId)) as Handler<JobContract>,
    });
    jobs.work(
      this.queue,
      {
        buildInstance: entry(buildInstance, (p, requestId) => this.serial(p.instance.id, () => this.build(p, requestId))),
        serverAction: entry(serverAction, (p, requestId) => this.serial(p.instanceId, () => this.action(p, requestId))),
        terminateInstance: entry(terminateInstance, (p, requestId) => this.serial(p.instanceId, () => this.terminate(p.instanceId, requestId))),
        getConsoleLog: entry(getConsoleLog, async (p) => ({ output: await driver.consoleLog(p.instanceId, p.lines ?? undefined) })),
      },
      { concurrency: this.o.concurrency ?? 8 },
    );

    this.unsubscribe = driver.onEvent((event) => {
      void this.report(powerStates, { host, instances: [{ id: event.id, powerState: event.powerState }] }, `event-${event.id}`).catch((error: unknown) =>
        log.warn('reporting a lifecycle event failed', { error }),
      );
    });
    const beat = async () => {
      const running = (await driver.list()).filter((i) => i.powerState === power.RUNNING).length;
      await this.report(hostHeartbeat, { host, runningVms: running }, `heartbeat-${host}`);
    };
    const sync = async () => {
      const list = await driver.list();
      await this.report(powerStates, { host, instances: list.map((i) => ({ id: i.id, powerState: i.powerState })) }, `sync-${host}`);
    };
    this.timers.push(
      setInterval(() => void beat().catch((error: unknown) => log.warn('heartbeat failed', { error })), (this.o.heartbeatSeconds ?? 10) * 1000),
      setInterval(() => void sync().catch((error: unknown) => log.warn('power state sync failed', { error })), (this.o.powerSyncSeconds ?? 60) * 1000),
    );
    for (const t of this.timers) t.unref();
    log.info('compute host started', { queue: this.queue, driver: driver.name, ...inventory, hypervisor: capabilities.hypervisorType });
  }

  private report<C extends JobContract>(contract: C, payload: PayloadOf<C>, requestId: string) {
    return this.o.jobs.send(contract, CONDUCTOR_QUEUE, payload, { requestId });
  }

  /** Runs `fn` after whatever is already running for this instance. */
  private serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(id) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(fn);
    this.chains.set(id, next);
    void next.finally(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    }).catch(() => {});
    return next;
  }

  private async build(p: ParsedOf<typeof buildInstance>, requestId: string): Promise<void> {
    const { driver, host, log } = this.o;
    const id = p.instance.id;
    // Steps are reported live only once a build has run for a while (people watch slow builds); a fast build
    // carries its steps in its result, which saves the conductor a job per step.
    const started = Date.now();
    const pending: string[] = [];
    const flush = () => {
      for (const step of pending.splice(0)) {
        void this.report(buildProgress, { instanceId: id, host, attempt: p.attempt, step }, requestId).catch(() => {});
      }
    };
    const timer = setTimeout(flush, LIVE_PROGRESS_AFTER_MS);
    try {
      const info = await driver.spawn(p.instance, (step) => {
        pending.push(step);
        if (Date.now() - started >= LIVE_PROGRESS_AFTER_MS) flush();
      });
      clearTimeout(timer);
      await this.report(buildResult, { instanceId: id, host, attempt: p.attempt, ok: true, powerState: info.powerState, steps: pending.splice(0) }, requestId);
      log.info('instance built', { instanceId: id, attempt: p.attempt });
    } catch (error) {
      clearTimeout(timer);
      pending.length = 0;
      log.warn('build failed', { instanceId: id, attempt: p.attempt, error });
      // The driver's contract: a failed spawn leaves nothing. Destroy anyway, in case a driver broke it.
      await driver.destroy(id).catch(() => {});
      await this.report(buildResult, { instanceId: id, host, attempt: p.attempt, ok: false, ...describe(error) }, requestId);
    }
  }

  private async action(p: ParsedOf<typeof serverAction>, requestId: string): Promise<void> {
    const { driver, host } = this.o;
    const id = p.instanceId;
    const run: Record<typeof p.action, () => Promise<void>> = {
      stop: () => driver.powerOff(id, { timeoutSeconds: 60 }),
      start: () => driver.powerOn(id),
      rebootSoft: () => driver.reboot(id, 'SOFT'),
      rebootHard: () => driver.reboot(id, 'HARD'),
      pause: () => driver.pause(id),
      unpause: () => driver.unpause(id),
      suspend: () => driver.suspend(id),
      resume: () => driver.resume(id),
    };
    try {
      await run[p.action]();
      const info = await driver.info(id);
      await this.report(actionResult, { instanceId: id, host, action: p.action, ok: true, ...(info ? { powerState: info.powerState } : {}) }, requestId);
    } catch (error) {
      const info = await driver.info(id).catch(() => null);
      await this.report(actionResult, { instanceId: id, host, action: p.action, ok: false, ...(info ? { powerState: info.powerState } : {}), ...describe(error) }, requestId);
    }
  }

  private async terminate(id: string, requestId: string): Promise<void> {
    const { driver, host } = this.o;
    try {
      await driver.destroy(id);
      await this.report(actionResult, { instanceId: id, host, action: 'delete', ok: true }, requestId);
    } catch (error) {
      if (error instanceof InstanceNotFound) {
        await this.report(actionResult, { instanceId: id, host, action: 'delete', ok: true }, requestId);
        return;
      }
      await this.report(actionResult, { instanceId: id, host, action: 'delete', ok: false, ...describe(error) }, requestId);
    }
  }

  /** A clean stop: the host shows as down at once instead of after the heartbeat timeout. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.unsubscribe?.();
    await this.report(hostStopped, { host: this.o.host }, `stop-${this.o.host}`).catch(() => {});
    await this.o.driver.close();
  }
}
