import type { JobContract, ParsedOf } from './contracts.ts';
import { acceptedVersions, describeVersions } from './versions.ts';

/** What travels in a pg-boss job: the contract's name and version, the request it serves, the payload. */
export interface Envelope {
  job: string;
  v: number;
  requestId: string;
  payload: unknown;
  /** Set by `call`: someone waits for this job's answer, so its end is announced. */
  reply?: boolean;
}

export interface JobContext {
  requestId: string;
  jobId: string;
  queue: string;
  /** 0 on the first delivery; a retry after a crash or a throw counts up. */
  retryCount: number;
  /** The version the job was sent in: the contract's own, or an older one it accepts. */
  version: number;
}

export type Handler<C extends JobContract> = (payload: ParsedOf<C>, ctx: JobContext) => Promise<unknown>;

/**
 * Handles every job of one name that a fetch brought, at once (one transaction for many reports, say). It
 * either handles them all or throws; after a throw each job is handled again on its own by `handle`, so one
 * bad job fails alone. Jobs handled this way answer nothing.
 */
export type BatchHandler<C extends JobContract> = (jobs: { payload: ParsedOf<C>; ctx: JobContext }[]) => Promise<void>;

/** A queue's handler for one job name: made by `handler`, which keeps the payload's type. */
export interface HandlerEntry {
  contract: JobContract;
  handle: Handler<JobContract>;
  handleMany?: BatchHandler<JobContract>;
}

/**
 * The handler of one contract's jobs, typed by the contract: `handle` gets the parsed payload, and `handleMany`
 * (optional) every job of that name a fetch brought, at once.
 */
export function handler<C extends JobContract>(contract: C, handle: Handler<C>, handleMany?: BatchHandler<C>): HandlerEntry {
  return {
    contract,
    handle: handle as Handler<JobContract>,
    ...(handleMany ? { handleMany: handleMany as BatchHandler<JobContract> } : {}),
  };
}

/** A queue's handlers by job name; two for one name is a mistake, said at once. */
export function handlersByName(queue: string, entries: HandlerEntry[]): ReadonlyMap<string, HandlerEntry> {
  const byName = new Map<string, HandlerEntry>();
  for (const entry of entries) {
    if (byName.has(entry.contract.name)) throw new Error(`queue ${queue}: two handlers for ${entry.contract.name}`);
    byName.set(entry.contract.name, entry);
  }
  return byName;
}

/** A job a handler here takes: its handler, its checked payload and its version. */
export interface Admitted {
  entry: HandlerEntry;
  payload: unknown;
  version: number;
}

/**
 * Whether a handler here may run a job, and with what; or why not, in words that name the job: its data is not
 * an Aster job, no handler here has its name, its version is outside the versions its contract accepts here,
 * or its payload does not parse.
 */
export function admit(queue: string, data: unknown, handlers: ReadonlyMap<string, HandlerEntry>): Admitted | { refused: string } {
  const envelope = data as Partial<Envelope> | null;
  if (!envelope || typeof envelope !== 'object' || typeof envelope.job !== 'string' || typeof envelope.v !== 'number') {
    return { refused: `not a job of Aster's (no job name and version) on queue ${queue}` };
  }
  const entry = handlers.get(envelope.job);
  if (!entry) return { refused: `job ${envelope.job} version ${envelope.v} has no handler on queue ${queue}` };
  const [oldest, newest] = acceptedVersions(entry.contract);
  if (envelope.v < oldest || envelope.v > newest) {
    return { refused: `job ${envelope.job} version ${envelope.v} is not accepted on queue ${queue}, which takes ${describeVersions([oldest, newest])}` };
  }
  const parsed = entry.contract.schema.safeParse(envelope.payload);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    return { refused: `job ${envelope.job} version ${envelope.v}: bad payload: ${issues}` };
  }
  return { entry, payload: parsed.data, version: envelope.v };
}
