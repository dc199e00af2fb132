import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { powerStates, type PowerState } from '@aster/compute';
import {
  DriverError,
  InstanceNotFound,
  type ConsoleEndpoint,
  type Driver,
  type HostCapabilities,
  type HostInventory,
  type InstanceInfo,
  type InstanceSpec,
  type LifecycleEvent,
  type LifecycleEventName,
  type SnapshotResult,
} from './driver.ts';

export type FakeAction = 'reboot' | 'powerOff' | 'powerOn' | 'pause' | 'unpause' | 'suspend' | 'resume' | 'destroy' | 'resize' | 'rebuild' | 'snapshot' | 'rescue' | 'unrescue';

export interface FakeDriverOptions {
  vcpus?: number;
  ramMb?: number;
  diskGb?: number;
  reservedRamMb?: number;
  hypervisorType?: string;
  /** Every spawn fails, with this message when it is a string. */
  failSpawn?: boolean | string;
  /** The first N spawns succeed, every later one fails. */
  failSpawnAfter?: number;
  spawnDelayMs?: number;
  /** Applied to each power action, to resize, rebuild, rescue, unrescue and snapshot, and to destroy. */
  actionDelayMs?: number;
  /** The named actions fail with the given message and change nothing. */
  failActions?: Partial<Record<FakeAction, string>>;
}

interface FakeInstance {
  spec: InstanceSpec;
  /** The image the instance boots from while rescued; null when it boots its own disk. */
  rescueImage: string | null;
  powerState: PowerState;
  consoleLog: string[];
  created: Date;
  ports: { vnc: number; spice: number; serial: number };
}

const { NOSTATE, RUNNING, PAUSED, SHUTDOWN, CRASHED, SUSPENDED } = powerStates;
// A guest that runs for months should not grow without bound in memory.
const MAX_LOG_LINES = 1000;
const GRAPHICS_PORT_BASE = 5900;
const SERIAL_PORT_BASE = 10000;
const SNAPSHOT_BYTES = 64 * 1024;

const STATE_WORDS: Record<PowerState, string> = {
  0: 'in no state',
  1: 'running',
  3: 'paused',
  4: 'shut down',
  6: 'crashed',
  7: 'suspended',
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A hypervisor kept in memory, with libvirt's power-state transitions, for fast tests, failure injection and
 * simulating many hosts. Touches neither the network nor the disk, except for a snapshot's temporary file.
 * Lifecycle events are emitted only for changes outside the driver's own calls (`simulate*`).
 */
export class FakeDriver implements Driver {
  readonly name = 'fake';
  private readonly instances = new Map<string, FakeInstance>();
  private readonly pendingSpawns = new Map<string, Promise<InstanceInfo>>();
  private readonly listeners = new Set<(event: LifecycleEvent) => void>();
  private readonly options: Required<Omit<FakeDriverOptions, 'failSpawn' | 'failSpawnAfter' | 'failActions'>> &
    Pick<FakeDriverOptions, 'failSpawn' | 'failSpawnAfter' | 'failActions'>;
  private spawnAttempts = 0;

  constructor(options: FakeDriverOptions = {}) {
    this.options = {
      ...options,
      vcpus: options.vcpus ?? 16,
      ramMb: options.ramMb ?? 65536,
      diskGb: options.diskGb ?? 1000,
      reservedRamMb: options.reservedRamMb ?? 512,
      hypervisorType: options.hypervisorType ?? 'fake',
      spawnDelayMs: options.spawnDelayMs ?? 0,
      actionDelayMs: options.actionDelayMs ?? 0,
    };
  }

  async init(): Promise<void> {}

  async close(): Promise<void> {
    this.listeners.clear();
  }

  async capabilities(): Promise<HostCapabilities> {
    return { hypervisorType: this.options.hypervisorType, arch: 'x86_64', consoles: ['vnc', 'spice', 'serial'] };
  }

  async inventory(): Promise<HostInventory> {
    const { vcpus, ramMb, diskGb, reservedRamMb } = this.options;
    return { vcpus, ramMb, diskGb, reservedRamMb, reservedDiskGb: 0 };
  }

  async spawn(spec: InstanceSpec, progress?: (step: string) => void): Promise<InstanceInfo> {
    const existing = this.instances.get(spec.id);
    if (existing) return this.describe(spec.id, existing);
    // A second spawn of an id still being created waits for the first instead of creating it twice.
    const pending = this.pendingSpawns.get(spec.id);
    if (pending) return pending;
    const creation = this.create(structuredClone(spec), progress).finally(() => this.pendingSpawns.delete(spec.id));
    this.pendingSpawns.set(spec.id, creation);
    return creation;
  }

  private async create(spec: InstanceSpec, progress?: (step: string) => void): Promise<InstanceInfo> {
    const attempt = ++this.spawnAttempts;
    progress?.('creating disk');
    progress?.('defining domain');
    if (this.options.spawnDelayMs > 0) await sleep(this.options.spawnDelayMs);
    const { failSpawn, failSpawnAfter } = this.options;
    if (failSpawn) {
      throw new DriverError(typeof failSpawn === 'string' ? failSpawn : 'failed to start the instance: the fake hypervisor was told to fail');
    }
    if (failSpawnAfter !== undefined && attempt > failSpawnAfter) {
      throw new DriverError(`failed to start the instance: the fake hypervisor was told to fail after ${failSpawnAfter} spawns`);
    }
    progress?.('starting domain');
    const instance: FakeInstance = {
      spec,
      rescueImage: null,
      powerState: RUNNING,
      consoleLog: [],
      created: new Date(),
      ports: this.allocatePorts(),
    };
    this.instances.set(spec.id, instance);
    this.boot(instance);
    return this.describe(spec.id, instance);
  }

  async destroy(id: string): Promise<void> {
    await this.delay();
    // An instance still being created is destroyed once it exists, so nothing outlives the call.
    await this.pendingSpawns.get(id)?.catch(() => undefined);
    if (!this.instances.has(id)) return;
    this.injectFailure('destroy');
    this.instances.delete(id);
  }

  async reboot(id: string, type: 'SOFT' | 'HARD'): Promise<void> {
    const instance = await this.begin(id, 'reboot');
    if (type === 'SOFT') this.require(instance, 'reboot', [RUNNING]);
    instance.powerState = RUNNING;
    this.log(instance, type === 'SOFT' ? 'reboot: restarting system' : 'reset: hard reboot requested by the host');
    this.boot(instance);
  }

  async powerOff(id: string, _options?: { timeoutSeconds?: number }): Promise<void> {
    const instance = await this.begin(id, 'powerOff');
    if (instance.powerState === SHUTDOWN) return;
    this.transition(instance, SHUTDOWN, 'reboot: Power down');
  }

  async powerOn(id: string): Promise<void> {
    const instance = await this.begin(id, 'powerOn');
    if (instance.powerState === RUNNING) return;
    this.require(instance, 'power on', [SHUTDOWN, CRASHED]);
    instance.powerState = RUNNING;
    this.boot(instance);
  }

  async pause(id: string): Promise<void> {
    const instance = await this.begin(id, 'pause');
    if (instance.powerState === PAUSED) return;
    this.require(instance, 'pause', [RUNNING]);
    this.transition(instance, PAUSED, 'host: vcpus paused');
  }

  async unpause(id: string): Promise<void> {
    const instance = await this.begin(id, 'unpause');
    if (instance.powerState === RUNNING) return;
    this.require(instance, 'unpause', [PAUSED]);
    this.transition(instance, RUNNING, 'host: vcpus resumed');
  }

  async suspend(id: string): Promise<void> {
    const instance = await this.begin(id, 'suspend');
    if (instance.powerState === SUSPENDED) return;
    this.require(instance, 'suspend', [RUNNING, PAUSED]);
    this.transition(instance, SUSPENDED, 'PM: suspend entry (memory saved by the host)');
  }

  async resume(id: string): Promise<void> {
    const instance = await this.begin(id, 'resume');
    if (instance.powerState === RUNNING) return;
    this.require(instance, 'resume', [SUSPENDED]);
    this.transition(instance, RUNNING, 'PM: resume from suspend');
  }

  /** A raw disk of SNAPSHOT_BYTES in a temporary folder: a line naming the instance and image, then zeros. */
  async snapshot(id: string): Promise<SnapshotResult> {
    const instance = await this.begin(id, 'snapshot');
    const dir = await mkdtemp(join(tmpdir(), 'aster-fake-snapshot-'));
    const path = join(dir, 'disk.raw');
    const disk = Buffer.alloc(SNAPSHOT_BYTES);
    disk.write(`fake disk of ${id} (${instance.spec.image.name}) at ${new Date().toISOString()}\n`);
    await writeFile(path, disk);
    return { diskFormat: 'raw', path, cleanup: () => rm(dir, { recursive: true, force: true }) };
  }

  /** New vCPUs and memory; the power state stays as it was (a shut-down instance stays shut down). */
  async resize(id: string, flavor: InstanceSpec['flavor']): Promise<void> {
    const instance = await this.begin(id, 'resize');
    this.require(instance, 'resize', [RUNNING, SHUTDOWN]);
    instance.spec = { ...instance.spec, flavor: structuredClone(flavor) };
    this.log(instance, `host: resized to ${flavor.name} (${flavor.vcpus} vcpus, ${flavor.ramMb} MB)`);
  }

  /** A new disk from the spec's image; a shut-down instance stays shut down, any other comes back running. */
  async rebuild(spec: InstanceSpec): Promise<InstanceInfo> {
    const instance = await this.begin(spec.id, 'rebuild');
    instance.spec = structuredClone(spec);
    this.log(instance, `host: rebuilt from image ${spec.image.name}`);
    if (instance.powerState !== SHUTDOWN) {
      instance.powerState = RUNNING;
      this.boot(instance);
    }
    return this.describe(spec.id, instance);
  }

  /** Boots from a disk of the spec's image, whatever the power state was; the instance's own spec is kept. */
  async rescue(spec: InstanceSpec): Promise<InstanceInfo> {
    const instance = await this.begin(spec.id, 'rescue');
    instance.rescueImage = spec.image.name;
    this.log(instance, `host: rescue from image ${spec.image.name}, own disk attached as the second disk`);
    instance.powerState = RUNNING;
    this.boot(instance);
    return this.describe(spec.id, instance);
  }

  async unrescue(id: string): Promise<InstanceInfo> {
    const instance = await this.begin(id, 'unrescue');
    if (instance.rescueImage !== null || instance.powerState !== RUNNING) {
      instance.rescueImage = null;
      this.log(instance, 'host: unrescue, booting the instance\'s own disk');
      instance.powerState = RUNNING;
      this.boot(instance);
    }
    return this.describe(id, instance);
  }

  /** The image a rescued instance boots from, or null when it boots its own disk. */
  rescuedFrom(id: string): string | null {
    return this.get(id).rescueImage;
  }

  async consoles(id: string): Promise<ConsoleEndpoint[]> {
    const { ports } = this.get(id);
    return [
      { type: 'vnc', host: '127.0.0.1', port: ports.vnc },
      { type: 'spice', host: '127.0.0.1', port: ports.spice },
      { type: 'serial', host: '127.0.0.1', port: ports.serial },
    ];
  }

  async consoleLog(id: string, lines?: number): Promise<string> {
    const log = this.get(id).consoleLog;
    const shown = lines === undefined ? log : lines > 0 ? log.slice(-lines) : [];
    return shown.map((line) => `${line}\n`).join('');
  }

  async info(id: string): Promise<InstanceInfo | null> {
    const instance = this.instances.get(id);
    return instance ? this.describe(id, instance) : null;
  }

  async list(): Promise<InstanceInfo[]> {
    return [...this.instances].map(([id, instance]) => this.describe(id, instance));
  }

  onEvent(listener: (event: LifecycleEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The guest shuts itself down (`poweroff` inside it): SHUTDOWN and a `stopped` event. */
  simulateGuestPowerOff(id: string): void {
    const instance = this.get(id);
    if (instance.powerState === SHUTDOWN) return;
    this.transition(instance, SHUTDOWN, 'reboot: Power down');
    this.emit(id, 'stopped', SHUTDOWN);
  }

  /** Someone removes the guest behind Aster's back (`virsh undefine` by hand): gone, and a `deleted` event. */
  simulateVanish(id: string): void {
    this.get(id);
    this.instances.delete(id);
    this.emit(id, 'deleted', NOSTATE);
  }

  /** The guest's emulator dies: CRASHED and a `crashed` event. */
  simulateCrash(id: string): void {
    const instance = this.get(id);
    this.require(instance, 'crash', [RUNNING, PAUSED]);
    this.transition(instance, CRASHED, 'Kernel panic - not syncing: Attempted to kill init!');
    this.emit(id, 'crashed', CRASHED);
  }

  private get(id: string): FakeInstance {
    const instance = this.instances.get(id);
    if (!instance) throw new InstanceNotFound(id);
    return instance;
  }

  /** The common start of an action: its delay, then the instance, then any injected failure. */
  private async begin(id: string, action: FakeAction): Promise<FakeInstance> {
    await this.delay();
    const instance = this.get(id);
    this.injectFailure(action);
    return instance;
  }

  private async delay(): Promise<void> {
    if (this.options.actionDelayMs > 0) await sleep(this.options.actionDelayMs);
  }

  private injectFailure(action: FakeAction): void {
    const message = this.options.failActions?.[action];
    if (message !== undefined) throw new DriverError(message);
  }

  private require(instance: FakeInstance, verb: string, allowed: PowerState[]): void {
    if (!allowed.includes(instance.powerState)) {
      throw new DriverError(`cannot ${verb}: instance is ${STATE_WORDS[instance.powerState]}`);
    }
  }

  private transition(instance: FakeInstance, to: PowerState, line: string): void {
    instance.powerState = to;
    this.log(instance, line);
  }

  private boot(instance: FakeInstance): void {
    const { id, hostname, ports: nics } = instance.spec;
    this.log(instance, '[    0.000000] Linux version 6.1.0-aster-fake (fake@aster) #1 SMP PREEMPT_DYNAMIC');
    this.log(instance, '[    0.000000] Command line: console=tty0 console=ttyS0,115200');
    nics.forEach((port, n) => this.log(instance, `[    1.204000] eth${n}: ${port.mac} ${port.ip} (${port.networkName})`));
    this.log(instance, '[    1.512000] Run /init as init process');
    this.log(instance, `aster-guest ready hostname=${hostname} instance=${id}`);
  }

  private log(instance: FakeInstance, line: string): void {
    instance.consoleLog.push(line);
    if (instance.consoleLog.length > MAX_LOG_LINES) instance.consoleLog.splice(0, instance.consoleLog.length - MAX_LOG_LINES);
  }

  private emit(id: string, event: LifecycleEventName, powerState: PowerState): void {
    for (const listener of [...this.listeners]) listener({ id, event, powerState });
  }

  /** The lowest free ports, as libvirt's autoport picks them. */
  private allocatePorts(): FakeInstance['ports'] {
    const used = new Set<number>();
    for (const { ports } of this.instances.values()) used.add(ports.vnc).add(ports.spice).add(ports.serial);
    const free = (from: number) => {
      let port = from;
      while (used.has(port)) port++;
      used.add(port);
      return port;
    };
    return { vnc: free(GRAPHICS_PORT_BASE), spice: free(GRAPHICS_PORT_BASE), serial: free(SERIAL_PORT_BASE) };
  }

  private describe(id: string, instance: FakeInstance): InstanceInfo {
    return { id, powerState: instance.powerState, vcpus: instance.spec.flavor.vcpus, ramMb: instance.spec.flavor.ramMb };
  }
}
