import type { TaskState } from '@aster/compute';
import { DriverError } from '@aster/virt';

/** How a task on an instance ended, as its result report says: what the task answered, or the fault in words. */
export type Outcome<T extends object> = ({ ok: true } & T) | { ok: false; error: string; details?: string; powerState?: number };

/** One task a host runs on an instance, for `runHostTask`. */
export interface HostTask<T extends object> {
  /** The work; answers what the success report adds. `moveTask` reports the server's task a step on, for people watching. */
  run(moveTask: (from: TaskState, to: TaskState) => Promise<void>): Promise<T>;
  /** Logged as a warning with the error when the task fails. */
  failure?: { log: string; fields: Record<string, unknown> };
  /** After a failure, before the report: cleans up and answers what the report adds (the power state seen then). */
  onFailure?(error: unknown): Promise<{ powerState?: number }>;
  /** Sends the outcome to the conductor as the task's result. */
  report(outcome: Outcome<T>): Promise<unknown>;
}

/** The words a tenant reads for a failure: the hypervisor's own message, or a plain summary. */
export function describeFailure(error: unknown): { error: string; details?: string } {
  if (error instanceof DriverError) return { error: error.message, ...(error.details ? { details: error.details } : {}) };
  if (error instanceof Error) return { error: error.message, ...(error.stack ? { details: error.stack } : {}) };
  return { error: String(error) };
}
