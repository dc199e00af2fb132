import { capabilitiesSpec, flavorSpec, instanceSpec, inventorySpec, type InstanceSpec } from '@aster/compute/specs';
import { z } from 'zod';

/**
 * What each service can be asked to do: every job's name, version and payload, in one place (Nova's
 * compute/rpcapi.py). Queues: `scheduler`, `conductor`, and one per compute host, `compute.<host>`.
 * A payload that does not parse is a bug in the sender, and the job fails at once with the zod message.
 *
 * Versions let a fleet be upgraded one host at a time (Nova's `can_send_version`). A contract says the
 * version it sends (`version`, which `schema` describes) and the versions its receivers handle (`accepts`);
 * a job outside that range fails at the receiver, naming its version and the range. Senders may be capped to
 * an older version (per process or per queue, see `VersionCaps`): the payload is then written in that
 * version's form by `downgrade`, or not sent at all when it cannot be. A new version that only adds optional
 * fields (or fields with defaults) keeps accepting the older one, whose payloads parse with the new schema.
 */
export interface JobContract<Name extends string = string, Schema extends z.ZodType = z.ZodType> {
  name: Name;
  /** The version this code sends; `schema` describes its payload. */
  version: number;
  schema: Schema;
  /**
   * The oldest and newest version a receiver here handles, both included; [version, version] when left out.
   * Every accepted version's payload must parse with `schema`.
   */
  accepts?: readonly [oldest: number, newest: number];
  /**
   * The payload (as `schema` parsed it) written for a receiver of version `to`, older than `version`; null when it
   * cannot be said in that version (the send then fails, naming the job and both versions). Without it, a job
   * whose sender is capped below `version` is not sent.
   */
  downgrade?(payload: z.output<Schema>, to: number): unknown;
}

/** A contract: `job('name', 1, schema)`, or with `{ accepts, downgrade }` once it has more than one version. */
export function job<const Name extends string, Schema extends z.ZodType>(
  name: Name,
  version: number,
  schema: Schema,
  versions: { accepts?: readonly [number, number]; downgrade?: (payload: z.output<Schema>, to: number) => unknown } = {},
): JobContract<Name, Schema> {
  const accepts = versions.accepts ?? [version, version];
  if (!Number.isInteger(version) || version < 1) throw new Error(`job ${name}: version ${version} is not a whole number from 1`);
  if (!(accepts[0] <= version && version <= accepts[1])) throw new Error(`job ${name}: version ${version} is outside the versions it accepts (${accepts[0]} to ${accepts[1]})`);
  return { name, version, schema, ...(versions.accepts ? { accepts: versions.accepts } : {}), ...(versions.downgrade ? { downgrade: versions.downgrade } : {}) };
}

export type PayloadOf<C extends JobContract> = z.input<C['schema']>;
export type ParsedOf<C extends JobContract> = z.output<C['schema']>;

export const SCHEDULER_QUEUE = 'scheduler';
export const CONDUCTOR_QUEUE = 'conductor';
export const computeQueue = (host: string) => `compute.${host}`;
/** The network worker's queue: it alone writes OVN's northbound database. */
export const NETWORK_QUEUE = 'network';

const uuid = z.string().uuid();
const powerState = z.number().int().min(0).max(7);

// What a host is told about an instance and tells of itself: one schema each, shared with the drivers.
export { capabilitiesSpec, flavorSpec, imageSpec, instanceSpec, inventorySpec, portSpec } from '@aster/compute/specs';
export type InstanceSpecPayload = InstanceSpec;

/** `vanished`: the host had this instance and it is gone, removed outside Aster. */
const instanceState = z.object({ id: uuid, powerState, vanished: z.boolean().optional() });

// scheduler
/** Every instance of one create request, placed in launch order by one scheduler (Nova's num_instances). */
export const scheduleInstances = job('scheduleInstances', 1, z.object({ instanceIds: z.array(uuid).min(1).max(100) }));

// compute.<host>: what a host can be asked to do
export const buildInstance = job('buildInstance', 1, z.object({ instance: instanceSpec, attempt: z.number().int().positive() }));
export const serverAction = job(
  'serverAction',
  1,
  z.object({
    instanceId: uuid,
    action: z.enum(['stop', 'start', 'rebootSoft', 'rebootHard', 'pause', 'unpause', 'suspend', 'resume']),
  }),
);
/** `ports`: the addresses the instance had, so the host frees them even if the guest is already gone. */
export const terminateInstance = job(
  'terminateInstance',
  1,
  z.object({ instanceId: uuid, ports: z.array(z.object({ mac: z.string(), ip: z.string() })).optional() }),
);
/** Gives the instance `flavor` on its own host; the driver keeps its power state. `migrationId` names the resize. */
export const resizeInstance = job('resizeInstance', 1, z.object({ instanceId: uuid, migrationId: uuid, flavor: flavorSpec }));
/** Gives a resized instance its old flavor back (its disk stays grown: disks never shrink). */
export const revertResizeInstance = job('revertResizeInstance', 1, z.object({ instanceId: uuid, migrationId: uuid, flavor: flavorSpec }));
/** A new root disk from `instance.image`, keeping the instance's ports, key and user data. */
export const rebuildInstance = job('rebuildInstance', 1, z.object({ instance: instanceSpec }));
/** Boots the instance from a new disk made from `instance.image` (the rescue image), its own disk attached second. */
export const rescueInstance = job('rescueInstance', 1, z.object({ instance: instanceSpec }));
/** Boots the rescued instance from its own disk again; the rescue disk is deleted. */
export const unrescueInstance = job('unrescueInstance', 1, z.object({ instanceId: uuid }));
/** Snapshots the instance's disk and PUTs it to `uploadPath` (a signed path with query, relative to the API's base URL). */
export const snapshotInstance = job('snapshotInstance', 1, z.object({ instanceId: uuid, imageId: uuid, uploadPath: z.string() }));
/** Answered with `{ output }` as the job's result. */
export const getConsoleLog = job('getConsoleLog', 1, z.object({ instanceId: uuid, lines: z.number().int().positive().nullable() }));
/** Where the instance's consoles listen on its host, answered as `{ consoles: ConsoleEndpoint[] }`; the proxy connects there. */
export const getConsoles = job('getConsoles', 1, z.object({ instanceId: uuid }));
export const consoleEndpoints = z.object({
  consoles: z.array(z.object({ type: z.enum(['vnc', 'spice', 'serial']), host: z.string().min(1), port: z.number().int().min(1).max(65535) })),
});

// conductor: what hosts report
export const hostStarted = job(
  'hostStarted',
  1,
  z.object({ host: z.string(), inventory: inventorySpec, capabilities: capabilitiesSpec, instances: z.array(instanceState) }),
);
export const hostHeartbeat = job('hostHeartbeat', 1, z.object({ host: z.string(), runningVms: z.number().int().nonnegative() }));
export const hostStopped = job('hostStopped', 1, z.object({ host: z.string() }));
export const powerStates = job('powerStates', 1, z.object({ host: z.string(), instances: z.array(instanceState) }));
export const buildProgress = job(
  'buildProgress',
  1,
  // `at`: when the step happened on the host, which puts steps taken together back in their order.
  z.object({ instanceId: uuid, host: z.string(), attempt: z.number().int(), step: z.string(), at: z.iso.datetime().optional() }),
);
export const buildResult = job(
  'buildResult',
  1,
  z.object({
    instanceId: uuid,
    host: z.string(),
    attempt: z.number().int().positive(),
    ok: z.boolean(),
    powerState: powerState.optional(),
    error: z.string().optional(),
    details: z.string().optional(),
    /** Build steps done but not yet reported (a fast build reports its steps here, not one job each). */
    steps: z.array(z.string()).optional(),
  }),
);
export const actionResult = job(
  'actionResult',
  1,
  z.object({
    instanceId: uuid,
    host: z.string(),
    action: z.string(),
    ok: z.boolean(),
    powerState: powerState.optional(),
    error: z.string().optional(),
    details: z.string().optional(),
  }),
);
/** A host moved a long task a step on (`resize_migrating`, `image_uploading` …); applied only if it is still at `from`. */
export const taskProgress = job('taskProgress', 1, z.object({ instanceId: uuid, host: z.string(), from: z.string(), to: z.string() }));
const outcome = {
  instanceId: uuid,
  host: z.string(),
  ok: z.boolean(),
  powerState: powerState.optional(),
  error: z.string().optional(),
  details: z.string().optional(),
};
/** The end of a resize (`revert: false`) or of its revert (`revert: true`). */
export const resizeResult = job('resizeResult', 1, z.object({ ...outcome, migrationId: uuid, revert: z.boolean() }));
/** The end of a rebuild from `image`. */
export const rebuildResult = job('rebuildResult', 1, z.object({ ...outcome, image: z.object({ id: uuid, name: z.string() }) }));
/** The end of a rescue from `image` (`unrescue: false`), or of an unrescue (`unrescue: true`, `image` null). */
export const rescueResult = job(
  'rescueResult',
  1,
  z.object({ ...outcome, unrescue: z.boolean(), image: z.object({ id: uuid, name: z.string() }).nullable() }),
);
/** The end of a snapshot into `imageId` (uploaded when ok). */
export const snapshotResult = job('snapshotResult', 1, z.object({ ...outcome, imageId: uuid }));

/**
 * The network model changed (or may differ from OVN): the network worker makes OVN's northbound database match
 * Postgres. Jobs sent close together are worked as one pass; `reason` is for the log.
 */
export const syncNetworks = job('syncNetworks', 1, z.object({ reason: z.string().max(200) }));

export const contracts = {
  scheduleInstances,
  buildInstance,
  serverAction,
  terminateInstance,
  resizeInstance,
  revertResizeInstance,
  rebuildInstance,
  rescueInstance,
  unrescueInstance,
  snapshotInstance,
  getConsoleLog,
  getConsoles,
  hostStarted,
  hostHeartbeat,
  hostStopped,
  powerStates,
  buildProgress,
  buildResult,
  actionResult,
  taskProgress,
  resizeResult,
  rebuildResult,
  rescueResult,
  snapshotResult,
  syncNetworks,
} as const;
export type ContractName = keyof typeof contracts;
