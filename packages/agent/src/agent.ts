import { powerStates as power, type TaskState } from '@aster/compute';
import {
  actionResult,
  buildInstance,
  buildProgress,
  buildResult,
  computeQueue,
  CONDUCTOR_QUEUE,
  getConsoleLog,
  getConsoles,
  hostHeartbeat,
  hostStarted,
  hostStopped,
  powerStates,
  rebuildInstance,
  rebuildResult,
  rescueInstance,
  rescueResult,
  resizeInstance,
  resizeResult,
  revertResizeInstance,
  serverAction,
  snapshotInstance,
  snapshotResult,
  taskProgress,
  terminateInstance,
  unrescueInstance,
  handler,
  type JobContract,
  type Jobs,
  type ParsedOf,
  type PayloadOf,
} from '@aster/jobs';
import type { Logger } from '@aster/log';
import { InstanceNotFound, type Driver } from '@aster/virt';
import { BuildSteps } from './build-steps.ts';
import { describeFailure, type HostTask, type Outcome } from './host-task.ts';
import { putFile } from './upload.ts';

export interface AgentOptions {
  host: string;
  jobs: Jobs;
  driver: Driver;
  log: Logger;
  /** The API's base URL: snapshots are uploaded to signed paths under it. */
  apiUrl?: string;
  heartbeatSeconds?: number;
  /** How often every instance's power state is compared with what the hypervisor says, seconds. */
  powerSyncSeconds?: number;
  concurrency?: number;
  /**
   * How often the host's queue is read when no wake-up came (a lost notification), seconds. Many hosts in
   * one process raise it: each poll is a query.
   */
  pollSeconds?: number;
  /** How long a guest has to shut down on ACPI before it is forced off, seconds. */
  shutdownTimeoutSeconds?: number;
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
  /** Instances this host has, as far as the agent knows: a missing one it did not remove has vanished. */
  private known = new Set<string>();
  private readonly eventPending = new Set<string>();
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

    jobs.work(
      this.queue,
      [
        handler(buildInstance, (p, { requestId }) => this.serial(p.instance.id, () => this.build(p, requestId))),
        handler(serverAction, (p, { requestId }) => this.serial(p.instanceId, () => this.action(p, requestId))),
        handler(terminateInstance, (p, { requestId }) => this.serial(p.instanceId, () => this.terminate(p.instanceId, requestId, p.ports))),
        handler(resizeInstance, (p, { requestId }) => this.serial(p.instanceId, () => this.resize(p, false, requestId))),
        handler(revertResizeInstance, (p, { requestId }) => this.serial(p.instanceId, () => this.resize(p, true, requestId))),
        handler(rebuildInstance, (p, { requestId }) => this.serial(p.instance.id, () => this.rebuild(p, requestId))),
        handler(rescueInstance, (p, { requestId }) => this.serial(p.instance.id, () => this.rescue(p.instance.id, p, requestId))),
        handler(unrescueInstance, (p, { requestId }) => this.serial(p.instanceId, () => this.rescue(p.instanceId, null, requestId))),
        handler(snapshotInstance, (p, { requestId }) => this.serial(p.instanceId, () => this.snapshot(p, requestId))),
        handler(getConsoleLog, async (p) => ({ output: await driver.consoleLog(p.instanceId, p.lines ?? undefined) })),
        handler(getConsoles, async (p) => ({ consoles: await driver.consoles(p.instanceId) })),
      ],
      { concurrency: this.o.concurrency ?? 8, ...(this.o.pollSeconds ? { pollSeconds: this.o.pollSeconds } : {}) },
    );

    // Hypervisor events (a guest powering itself off, a domain removed by hand) are reported in the instance's
    // own order: after whatever Aster is doing to it, with the state the hypervisor has then.
    this.known = new Set(instances.map((i) => i.id));
    this.unsubscribe = driver.onEvent((event) => {
      if (this.eventPending.has(event.id)) return;
      this.eventPending.add(event.id);
      void this.serial(event.id, async () => {
        this.eventPending.delete(event.id);
        const info = await driver.info(event.id);
        if (info) {
          this.known.add(event.id);
          return this.report(powerStates, { host, instances: [{ id: event.id, powerState: info.powerState }] }, `event-${event.id}`);
        }
        if (!this.known.delete(event.id)) return;
        log.warn('an instance vanished from the hypervisor outside Aster', { instanceId: event.id });
        return this.report(powerStates, { host, instances: [{ id: event.id, powerState: power.NOSTATE, vanished: true }] }, `event-${event.id}`);
      }).catch((error: unknown) => log.warn('reporting a lifecycle event failed', { error }));
    });
    const beat = async () => {
      const running = (await driver.list()).filter((i) => i.powerState === power.RUNNING).length;
      // Quiet: the conductor takes it at its next poll, within seconds, far inside the time a host may be silent.
      await this.report(hostHeartbeat, { host, runningVms: running }, `heartbeat-${host}`, { quiet: true });
    };
    const sync = async () => {
      const before = [...this.known];
      const list = await driver.list();
      const present = new Set(list.map((i) => i.id));
      // Gone without Aster removing it: reported, never silently forgotten (work in progress is left alone).
      const vanished = before.filter((id) => !present.has(id) && !this.chains.has(id) && this.known.has(id));
      for (const id of vanished) this.known.delete(id);
      for (const id of present) this.known.add(id);
      if (vanished.length) log.warn('instances vanished from the hypervisor outside Aster', { instanceIds: vanished });
      const instances = [
        ...list.map((i) => ({ id: i.id, powerState: i.powerState })),
        ...vanished.map((id) => ({ id, powerState: power.NOSTATE, vanished: true })),
      ];
      await this.report(powerStates, { host, instances }, `sync-${host}`);
    };
    this.timers.push(
      setInterval(() => void beat().catch((error: unknown) => log.warn('heartbeat failed', { error })), (this.o.heartbeatSeconds ?? 10) * 1000),
      setInterval(() => void sync().catch((error: unknown) => log.warn('power state sync failed', { error })), (this.o.powerSyncSeconds ?? 60) * 1000),
    );
    for (const t of this.timers) t.unref();
    log.info('compute host started', { queue: this.queue, driver: driver.name, ...inventory, hypervisor: capabilities.hypervisorType });
  }

  private report<C extends JobContract>(contract: C, payload: PayloadOf<C>, requestId: string, o: { quiet?: boolean } = {}) {
    return this.o.jobs.send(contract, CONDUCTOR_QUEUE, payload, { requestId, ...o });
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

  /**
   * Nova's wrap_instance_fault on the host: runs one task on an instance and reports how it ended, with what
   * the task answered or, when it throws, the fault in the words a tenant reads (the hypervisor's own). Only a
   * failure to send the report fails the job, and the queue retries it.
   */
  private async runHostTask<T extends object>(instanceId: string, requestId: string, task: HostTask<T>): Promise<void> {
    let outcome: Outcome<T>;
    try {
      const answer = await task.run((from, to) => this.moveTask(instanceId, from, to, requestId));
      outcome = { ok: true, ...answer };
    } catch (error) {
      if (task.failure) this.o.log.warn(task.failure.log, { ...task.failure.fields, error });
      outcome = { ok: false, ...(await task.onFailure?.(error)), ...describeFailure(error) };
    }
    await task.report(outcome);
  }

  /** Moves the server's task a step on, for people watching; the conductor applies it only from `from`. */
  private async moveTask(instanceId: string, from: TaskState, to: TaskState, requestId: string): Promise<void> {
    await this.report(taskProgress, { instanceId, host: this.o.host, from, to }, requestId);
  }

  /** The power state to report after a task, when the instance still exists. */
  private async powerOf(id: string): Promise<{ powerState?: number }> {
    const info = await this.o.driver.info(id).catch(() => null);
    return info ? { powerState: info.powerState } : {};
  }

  private build(p: ParsedOf<typeof buildInstance>, requestId: string): Promise<void> {
    const { driver, host, log } = this.o;
    const id = p.instance.id;
    const steps = new BuildSteps((step, at) => this.report(buildProgress, { instanceId: id, host, attempt: p.attempt, step, at }, requestId));
    return this.runHostTask(id, requestId, {
      run: async () => {
        const info = await driver.spawn(p.instance, steps.done);
        this.known.add(id);
        return { powerState: info.powerState, steps: await steps.end() };
      },
      failure: { log: 'build failed', fields: { instanceId: id, attempt: p.attempt } },
      onFailure: async () => {
        await steps.drop();
        // The driver's contract: a failed spawn leaves nothing. Destroy anyway, in case a driver broke it.
        await driver.destroy(id).catch(() => {});
        return {};
      },
      report: async (outcome) => {
        await this.report(buildResult, { instanceId: id, host, attempt: p.attempt, ...outcome }, requestId);
        if (outcome.ok) log.info('instance built', { instanceId: id, attempt: p.attempt });
      },
    });
  }

  private action(p: ParsedOf<typeof serverAction>, requestId: string): Promise<void> {
    const { driver, host } = this.o;
    const id = p.instanceId;
    const run: Record<typeof p.action, () => Promise<void>> = {
      stop: () => driver.powerOff(id, { timeoutSeconds: this.o.shutdownTimeoutSeconds ?? 60 }),
      start: () => driver.powerOn(id),
      rebootSoft: () => driver.reboot(id, 'SOFT'),
      rebootHard: () => driver.reboot(id, 'HARD'),
      pause: () => driver.pause(id),
      unpause: () => driver.unpause(id),
      suspend: () => driver.suspend(id),
      resume: () => driver.resume(id),
    };
    return this.runHostTask(id, requestId, {
      run: async () => {
        await run[p.action]();
        return this.powerOf(id);
      },
      onFailure: () => this.powerOf(id),
      report: (outcome) => this.report(actionResult, { instanceId: id, host, action: p.action, ...outcome }, requestId),
    });
  }

  /** Removes the instance and its network state; one already gone is removed all the same. */
  private terminate(id: string, requestId: string, ports?: { mac: string; ip: string }[]): Promise<void> {
    const { driver, host } = this.o;
    return this.runHostTask(id, requestId, {
      run: async () => {
        await driver.destroy(id, ports ? { ports } : {}).catch((error: unknown) => {
          if (!(error instanceof InstanceNotFound)) throw error;
        });
        this.known.delete(id);
        return {};
      },
      report: (outcome) => this.report(actionResult, { instanceId: id, host, action: 'delete', ...outcome }, requestId),
    });
  }

  /** A resize, or its revert (to the old flavor): the driver keeps the power state; the disk never shrinks. */
  private resize(p: ParsedOf<typeof resizeInstance>, revert: boolean, requestId: string): Promise<void> {
    const { driver, host } = this.o;
    const id = p.instanceId;
    return this.runHostTask(id, requestId, {
      run: async (moveTask) => {
        if (!revert) await moveTask('resize_prep', 'resize_migrating');
        await driver.resize(id, p.flavor);
        if (!revert) await moveTask('resize_migrating', 'resize_finish');
        return this.powerOf(id);
      },
      failure: { log: revert ? 'reverting a resize failed' : 'resize failed', fields: { instanceId: id } },
      onFailure: () => this.powerOf(id),
      report: (outcome) => this.report(resizeResult, { instanceId: id, host, migrationId: p.migrationId, revert, ...outcome }, requestId),
    });
  }

  private rebuild(p: ParsedOf<typeof rebuildInstance>, requestId: string): Promise<void> {
    const { driver, host } = this.o;
    const id = p.instance.id;
    const image = { id: p.instance.image.id, name: p.instance.image.name };
    return this.runHostTask(id, requestId, {
      run: async (moveTask) => {
        await moveTask('rebuilding', 'rebuild_spawning');
        const info = await driver.rebuild(p.instance);
        return { powerState: info.powerState };
      },
      failure: { log: 'rebuild failed', fields: { instanceId: id } },
      onFailure: async () => {
        const power = await this.powerOf(id);
        if (power.powerState === undefined) this.known.delete(id); // gone by Aster's own hand, not vanished
        return power;
      },
      report: (outcome) => this.report(rebuildResult, { instanceId: id, host, image, ...outcome }, requestId),
    });
  }

  /** A rescue from the spec's image, or (`p` null) an unrescue; the outcome goes back with the power state seen. */
  private rescue(id: string, p: ParsedOf<typeof rescueInstance> | null, requestId: string): Promise<void> {
    const { driver, host } = this.o;
    const image = p ? { id: p.instance.image.id, name: p.instance.image.name } : null;
    return this.runHostTask(id, requestId, {
      run: async () => {
        const info = p ? await driver.rescue(p.instance) : await driver.unrescue(id);
        return { powerState: info.powerState };
      },
      failure: { log: p ? 'rescue failed' : 'unrescue failed', fields: { instanceId: id } },
      onFailure: () => this.powerOf(id),
      report: (outcome) => this.report(rescueResult, { instanceId: id, host, unrescue: p === null, image, ...outcome }, requestId),
    });
  }

  /** Snapshots the disk, streams the file to the signed upload path, and removes it whatever happened. */
  private snapshot(p: ParsedOf<typeof snapshotInstance>, requestId: string): Promise<void> {
    const { driver, host, apiUrl, log } = this.o;
    const id = p.instanceId;
    return this.runHostTask(id, requestId, {
      run: async (moveTask) => {
        if (!apiUrl) throw new Error('this compute host has no API URL to upload the snapshot to');
        const snapshot = await driver.snapshot(id);
        try {
          await moveTask('image_snapshot', 'image_pending_upload');
          await moveTask('image_pending_upload', 'image_uploading');
          await putFile(`${apiUrl.replace(/\/+$/, '')}${p.uploadPath}`, snapshot.path, snapshot.diskFormat);
        } finally {
          await snapshot.cleanup().catch((error: unknown) => log.warn('removing a snapshot file failed', { instanceId: id, path: snapshot.path, error }));
        }
        return {};
      },
      failure: { log: 'snapshot failed', fields: { instanceId: id, imageId: p.imageId } },
      report: (outcome) => this.report(snapshotResult, { instanceId: id, host, imageId: p.imageId, ...outcome }, requestId),
    });
  }

  /** A clean stop: the host shows as down at once instead of after the heartbeat timeout. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.unsubscribe?.();
    await this.report(hostStopped, { host: this.o.host }, `stop-${this.o.host}`).catch(() => {});
    await this.o.driver.close();
  }
}
