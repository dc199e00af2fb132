import type { PowerState } from '@aster/compute';
import type { InstanceSpec } from '@aster/compute/specs';

export type { InstanceSpec };

/** What a host offers to placement. */
export interface HostInventory {
  vcpus: number;
  ramMb: number;
  diskGb: number;
  reservedRamMb: number;
  reservedDiskGb: number;
}

export interface HostCapabilities {
  /** `kvm` or `qemu` for libvirt (decided by a boot test at start), `fake` for FakeDriver. */
  hypervisorType: string;
  arch: string;
  consoles: ('vnc' | 'spice' | 'serial')[];
  [key: string]: unknown;
}

export interface InstanceInfo {
  id: string;
  powerState: PowerState;
  vcpus: number;
  ramMb: number;
}

/** Where a console of an instance listens on its host; the proxy connects there. */
export interface ConsoleEndpoint {
  type: 'vnc' | 'spice' | 'serial';
  host: string;
  port: number;
}

export type LifecycleEventName = 'started' | 'stopped' | 'paused' | 'resumed' | 'suspended' | 'crashed' | 'deleted';

export interface LifecycleEvent {
  id: string;
  event: LifecycleEventName;
  powerState: PowerState;
}

export interface SnapshotResult {
  diskFormat: 'qcow2' | 'raw';
  /** A file holding the snapshot; the caller uploads it and then calls `cleanup`. */
  path: string;
  cleanup(): Promise<void>;
}

/** Raised by a driver for a failure the tenant should read as it is (the hypervisor's own words). */
export class DriverError extends Error {
  constructor(
    message: string,
    readonly details?: string,
  ) {
    super(message);
    this.name = 'DriverError';
  }
}

export class InstanceNotFound extends DriverError {
  constructor(id: string) {
    super(`instance ${id} not found on this host`);
    this.name = 'InstanceNotFound';
  }
}

/**
 * A hypervisor, as a compute host drives it (Nova's virt/driver.py). The contract, checked by one test suite
 * against every implementation:
 * - `spawn` creates and starts an instance; on failure nothing of it is left behind (disks, domain), and the
 *   error says what the hypervisor said. Spawning an id that already runs answers its info (idempotent).
 *   It tells `progress` of each build step (`creating disk`, `starting` …) once that step is done, each once,
 *   and of none after it has answered or failed.
 * - `destroy` removes an instance and everything it owns; destroying one that does not exist succeeds. With
 *   `ports`, their network state goes too, even when the instance itself is already gone.
 * - Power actions on a missing instance throw InstanceNotFound. Each is idempotent where the target state is
 *   already reached (`powerOff` of a stopped instance succeeds).
 * - `powerOff` asks the guest to shut down (ACPI) and forces it after `timeoutSeconds`.
 * - `rescue` boots the instance from a new disk made from `spec.image`, with its own disk attached as the
 *   second disk and the same NICs and config drive, and answers it RUNNING; rescuing a rescued instance
 *   keeps its own disk as the one to go back to.
 * - `unrescue` boots the instance from its own disk again, deletes the rescue disk and answers it RUNNING;
 *   unrescuing an instance that is not rescued only makes sure it runs.
 * - `list` and `info` report what the hypervisor has, including instances this agent did not create.
 * - `onEvent` reports power changes that happen outside the driver's own calls (a guest powering itself off).
 */
export interface Driver {
  readonly name: string;
  init(): Promise<void>;
  capabilities(): Promise<HostCapabilities>;
  inventory(): Promise<HostInventory>;

  spawn(spec: InstanceSpec, progress?: (step: string) => void): Promise<InstanceInfo>;
  destroy(id: string, hints?: { ports?: { mac: string; ip: string }[] }): Promise<void>;
  reboot(id: string, type: 'SOFT' | 'HARD'): Promise<void>;
  powerOff(id: string, options?: { timeoutSeconds?: number }): Promise<void>;
  powerOn(id: string): Promise<void>;
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  suspend(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  snapshot(id: string): Promise<SnapshotResult>;
  resize(id: string, flavor: InstanceSpec['flavor']): Promise<void>;
  rebuild(spec: InstanceSpec): Promise<InstanceInfo>;
  rescue(spec: InstanceSpec): Promise<InstanceInfo>;
  unrescue(id: string): Promise<InstanceInfo>;

  consoles(id: string): Promise<ConsoleEndpoint[]>;
  /** The serial console's output so far; the last `lines` lines when given. */
  consoleLog(id: string, lines?: number): Promise<string>;
  info(id: string): Promise<InstanceInfo | null>;
  list(): Promise<InstanceInfo[]>;
  onEvent(listener: (event: LifecycleEvent) => void): () => void;
  close(): Promise<void>;
}
