import type { PoolClient, Queryable } from '@aster/db';
import { recordEvent, recordFault } from '../compute/instances.ts';

/**
 * What every host report the conductor applies has in common: it is applied once, and a failure ends its task
 * the same way whatever the task was.
 */

/** Applies a report once: a job delivered twice finds its key taken and changes nothing. */
export async function once(client: PoolClient, key: string): Promise<boolean> {
  const { rowCount } = await client.query('INSERT INTO applied_reports (key) VALUES ($1) ON CONFLICT DO NOTHING', [key]);
  return rowCount === 1;
}

/** A task that failed on its host, as the host reported it. */
export interface Failure {
  instanceId: string;
  host: string;
  /** The instance action the task belongs to (its latest of that name), or null if there is none. */
  actionId: string | null;
  /** The action event that ends with the failure (`compute_stop`, `compute_rebuild` …). */
  event: string;
  /** The fault's message, as the server's owner reads it ("Rebuild from image x failed: …"). */
  message: string;
  /** The event's details: what the host said went wrong. */
  error: string | null;
  /** The fault's details (a stack, the hypervisor's words), for administrators. */
  details: string | null;
  /** The power state the host saw after the failure; the one recorded stays when it said none. */
  powerState?: number | null | undefined;
  /** The state the failure leaves the server in (`error`); it keeps its own when not given. */
  vmState?: 'error';
}

/**
 * Nova's @reverts_task_state and @wrap_instance_fault, on the conductor's side: the server's task is cleared
 * so it can be acted on again (its power state as the host saw it), a fault says what went wrong, and the
 * action's event records the error and closes the action.
 */
export async function recordFailure(db: Queryable, f: Failure): Promise<void> {
  await db.query(
    `UPDATE instances SET task_state = NULL, power_state = COALESCE($2, power_state), vm_state = COALESCE($3, vm_state) WHERE id = $1`,
    [f.instanceId, f.powerState ?? null, f.vmState ?? null],
  );
  await recordFault(db, { instanceId: f.instanceId, code: 500, message: f.message, details: f.details, host: f.host });
  await recordEvent(db, { actionId: f.actionId, event: f.event, host: f.host, result: 'Error', details: f.error, finish: true });
}
