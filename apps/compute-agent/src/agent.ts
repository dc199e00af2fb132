import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { powerStates as power } from '@aster/compute';
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
import { DriverError, InstanceNotFound, type Driver, type SnapshotResult } from '@aster/virt';

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

  private async build(p: ParsedOf<typeof buildInstance>, requestId: string): Promise<void> {
    const { driver, host, log } = this.o;
    const id = p.instance.id;
    // Steps are reported live only once a build has run for a while (people watch slow builds); a fast build
    // carries its steps in its result, which saves the conductor a job per step.
    const started = Date.now();
    const pending: { step: string; at: string }[] = [];
    // Live steps are sent one after the other, each once the one before is in the queue, so that they reach the
    // conductor in the order they happened; the result goes after them.
    let sent = Promise.resolve();
    const flush = () => {
      for (const { step, at } of pending.splice(0)) {
        sent = sent.then(() => this.report(buildProgress, { instanceId: id, host, attempt: p.attempt, step, at }, requestId).then(() => {}, () => {}));
      }
    };
    const timer = setTimeout(flush, LIVE_PROGRESS_AFTER_MS);
    try {
      const info = await driver.spawn(p.instance, (step) => {
        pending.push({ step, at: new Date().toISOString() });
        if (Date.now() - started >= LIVE_PROGRESS_AFTER_MS) flush();
      });
      clearTimeout(timer);
      this.known.add(id);
      await sent;
      const steps = pending.splice(0).map((s) => s.step);
      await this.report(buildResult, { instanceId: id, host, attempt: p.attempt, ok: true, powerState: info.powerState, steps }, requestId);
      log.info('instance built', { instanceId: id, attempt: p.attempt });
    } catch (error) {
      clearTimeout(timer);
      pending.length = 0;
      await sent;
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
      stop: () => driver.powerOff(id, { timeoutSeconds: this.o.shutdownTimeoutSeconds ?? 60 }),
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

  private async terminate(id: string, requestId: string, ports?: { mac: string; ip: string }[]): Promise<void> {
    const { driver, host } = this.o;
    try {
      await driver.destroy(id, ports ? { ports } : {});
      this.known.delete(id);
      await this.report(actionResult, { instanceId: id, host, action: 'delete', ok: true }, requestId);
    } catch (error) {
      if (error instanceof InstanceNotFound) {
        this.known.delete(id);
        await this.report(actionResult, { instanceId: id, host, action: 'delete', ok: true }, requestId);
        return;
      }
      await this.report(actionResult, { instanceId: id, host, action: 'delete', ok: false, ...describe(error) }, requestId);
    }
  }

  /** Moves the server's task a step on, for people watching; the conductor applies it only from `from`. */
  private progress(instanceId: string, from: string, to: string, requestId: string): Promise<unknown> {
    return this.report(taskProgress, { instanceId, host: this.o.host, from, to }, requestId);
  }

  /** The power state to report after an action, when the instance still exists. */
  private async powerOf(id: string): Promise<{ powerState?: number }> {
    const info = await this.o.driver.info(id).catch(() => null);
    return info ? { powerState: info.powerState } : {};
  }

  /** A resize, or its revert (to the old flavor): the driver keeps the power state; the disk never shrinks. */
  private async resize(p: ParsedOf<typeof resizeInstance>, revert: boolean, requestId: string): Promise<void> {
    const { driver, host } = this.o;
    const id = p.instanceId;
    const result = { instanceId: id, host, migrationId: p.migrationId, revert };
    try {
      if (!revert) await this.progress(id, 'resize_prep', 'resize_migrating', requestId);
      await driver.resize(id, p.flavor);
      if (!revert) await this.progress(id, 'resize_migrating', 'resize_finish', requestId);
      await this.report(resizeResult, { ...result, ok: true, ...(await this.powerOf(id)) }, requestId);
    } catch (error) {
      this.o.log.warn(revert ? 'reverting a resize failed' : 'resize failed', { instanceId: id, error });
      await this.report(resizeResult, { ...result, ok: false, ...(await this.powerOf(id)), ...describe(error) }, requestId);
    }
  }

  private async rebuild(p: ParsedOf<typeof rebuildInstance>, requestId: string): Promise<void> {
    const { driver, host } = this.o;
    const id = p.instance.id;
    const result = { instanceId: id, host, image: { id: p.instance.image.id, name: p.instance.image.name } };
    try {
      await this.progress(id, 'rebuilding', 'rebuild_spawning', requestId);
      const info = await driver.rebuild(p.instance);
      await this.report(rebuildResult, { ...result, ok: true, powerState: info.powerState }, requestId);
    } catch (error) {
      this.o.log.warn('rebuild failed', { instanceId: id, error });
      const power = await this.powerOf(id);
      if (power.powerState === undefined) this.known.delete(id); // gone by Aster's own hand, not vanished
      await this.report(rebuildResult, { ...result, ok: false, ...power, ...describe(error) }, requestId);
    }
  }

  /** A rescue from the spec's image, or (`p` null) an unrescue; the outcome goes back with the power state seen. */
  private async rescue(id: string, p: ParsedOf<typeof rescueInstance> | null, requestId: string): Promise<void> {
    const { driver, host } = this.o;
    const result = { instanceId: id, host, unrescue: p === null, image: p ? { id: p.instance.image.id, name: p.instance.image.name } : null };
    try {
      const info = p ? await driver.rescue(p.instance) : await driver.unrescue(id);
      await this.report(rescueResult, { ...result, ok: true, powerState: info.powerState }, requestId);
    } catch (error) {
      this.o.log.warn(p ? 'rescue failed' : 'unrescue failed', { instanceId: id, error });
      await this.report(rescueResult, { ...result, ok: false, ...(await this.powerOf(id)), ...describe(error) }, requestId);
    }
  }

  /** Snapshots the disk, streams the file to the signed upload path, and removes it whatever happened. */
  private async snapshot(p: ParsedOf<typeof snapshotInstance>, requestId: string): Promise<void> {
    const { driver, host, apiUrl, log } = this.o;
    const id = p.instanceId;
    let snapshot: SnapshotResult | null = null;
    let failure: unknown = null;
    try {
      if (!apiUrl) throw new Error('this compute host has no API URL to upload the snapshot to');
      snapshot = await driver.snapshot(id);
      await this.progress(id, 'image_snapshot', 'image_pending_upload', requestId);
      await this.progress(id, 'image_pending_upload', 'image_uploading', requestId);
      await putFile(`${apiUrl.replace(/\/+$/, '')}${p.uploadPath}`, snapshot.path, snapshot.diskFormat);
    } catch (error) {
      failure = error;
      log.warn('snapshot failed', { instanceId: id, imageId: p.imageId, error });
    }
    await snapshot?.cleanup().catch((error: unknown) => log.warn('removing a snapshot file failed', { instanceId: id, path: snapshot?.path, error }));
    const outcome = failure === null ? { ok: true } : { ok: false, ...describe(failure) };
    await this.report(snapshotResult, { instanceId: id, host, imageId: p.imageId, ...outcome }, requestId);
  }

  /** A clean stop: the host shows as down at once instead of after the heartbeat timeout. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.unsubscribe?.();
    await this.report(hostStopped, { host: this.o.host }, `stop-${this.o.host}`).catch(() => {});
    await this.o.driver.close();
  }
}

const MAX_ERROR_BODY = 64 * 1024;
const UPLOAD_IDLE_MS = 5 * 60_000;

/** PUTs a file to `url`, streamed from disk; rejects with the API's own words when it refuses the data. */
async function putFile(url: string, path: string, diskFormat: string): Promise<void> {
  const { size } = await stat(path);
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const request = send(target, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': size, 'x-image-disk-format': diskFormat },
  });
  // An API that stops answering mid-upload must not hold the instance's queue forever.
  request.setTimeout(UPLOAD_IDLE_MS, () => request.destroy(new Error(`the API did not answer for ${UPLOAD_IDLE_MS / 1000} s during the snapshot upload`)));
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  // The API may answer (a refusal) before it has read the whole body: its answer says more than a broken pipe.
  const sent = pipeline(createReadStream(path), request).catch((error: unknown) => error);
  const response = await answered;
  response.setEncoding('utf8');
  let body = '';
  for await (const chunk of response) if (body.length < MAX_ERROR_BODY) body += chunk as string;
  await sent;
  if (response.statusCode === 200) return;
  let message = body.slice(0, 500);
  try {
    message = (JSON.parse(body) as { error?: string }).error ?? message;
  } catch {
    // not JSON: the text as it came
  }
  throw new DriverError(`uploading the snapshot failed (HTTP ${response.statusCode}): ${message}`);
}
