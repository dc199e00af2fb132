import { powerStateName, serverStatus, whyNot, type Explanation, type ServerAction, type TaskState, type VmState } from '@aster/compute';
import type { Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';

/** An instances row as Postgres returns it. */
export interface InstanceRow {
  id: string;
  project_id: string;
  user_id: string | null;
  name: string;
  hostname: string;
  flavor_id: string;
  flavor: { id: string; name: string; vcpus: number; ramMb: number; diskGb: number; extraSpecs: Record<string, string> };
  image_id: string;
  image: { id: string; name: string };
  key_name: string | null;
  key_data: string | null;
  user_data: string | null;
  metadata: Record<string, string>;
  tags: string[];
  requested_networks: string[];
  vm_state: VmState;
  task_state: TaskState | null;
  power_state: number;
  host: string | null;
  alternates: string[];
  attempts: number;
  request_id: string | null;
  reservation_id: string;
  launch_index: number;
  locked: boolean;
  locked_by: 'owner' | 'admin' | null;
  locked_reason: string | null;
  launched_at: Date | null;
  terminated_at: Date | null;
  task_started_at: Date | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  change_seq: string;
  /** The zone asked for at create (null: any). */
  availability_zone: string | null;
  scheduler_hints: { sameHost?: string[]; differentHost?: string[] };
}

export async function loadInstance(db: Queryable, id: string, options: { forUpdate?: boolean } = {}): Promise<InstanceRow | null> {
  const { rows } = await db.query<InstanceRow>(`SELECT * FROM instances WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

export function statusOf(row: Pick<InstanceRow, 'vm_state' | 'task_state'>) {
  return serverStatus(row.vm_state, row.task_state);
}

/**
 * Starts an action by compare-and-set: the task_state is set only if the server is (still) in a state the
 * action is allowed from, so two racing actions cannot both start. Answers the updated row, or throws the
 * reason in words.
 */
export async function beginTask(
  db: Queryable,
  row: InstanceRow,
  action: ServerAction,
  rule: { vmStates: readonly VmState[]; taskStates: readonly (TaskState | null)[]; to: TaskState | null },
): Promise<InstanceRow> {
  const why = whyNot(action, row.vm_state, row.task_state, statusOf(row));
  if (why) throw new AsterError('InvalidState', why);
  const idle = rule.taskStates.includes(null);
  const busy = rule.taskStates.filter((t): t is TaskState => t !== null);
  const { rows } = await db.query<InstanceRow>(
    `UPDATE instances SET task_state = $2, task_started_at = clock_timestamp()
      WHERE id = $1 AND deleted_at IS NULL AND vm_state <> 'deleted'
        AND (cardinality($3::text[]) = 0 OR vm_state = ANY($3::text[]))
        AND ($4::boolean OR ($5::boolean AND task_state IS NULL) OR task_state = ANY($6::text[]))
        AND task_state IS DISTINCT FROM 'deleting'
      RETURNING *`,
    [row.id, rule.to, rule.vmStates, rule.taskStates.length === 0, idle, busy],
  );
  if (rows[0]) return rows[0];
  const now = await loadInstance(db, row.id);
  if (!now || now.deleted_at) throw new AsterError('NotFound', `Server ${row.id} not found`);
  throw new AsterError('InvalidState', whyNot(action, now.vm_state, now.task_state, statusOf(now)) ?? `Server ${row.name} changed state; try again`);
}

/** Records the start of an instance action (Nova's instance_actions); idempotent per request. */
export async function startAction(
  db: Queryable,
  a: { instanceId: string; action: string; requestId: string; userId: string | null; projectId: string | null; message?: string },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO instance_actions (instance_id, action, request_id, user_id, project_id, message) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (instance_id, request_id, action) DO UPDATE SET message = COALESCE(EXCLUDED.message, instance_actions.message)
     RETURNING id`,
    [a.instanceId, a.action, a.requestId, a.userId, a.projectId, a.message ?? null],
  );
  return rows[0]!.id;
}

/** The latest unfinished action of a server with this name (the one a report belongs to). */
export async function openAction(db: Queryable, instanceId: string, action: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM instance_actions WHERE instance_id = $1 AND action = $2 ORDER BY finished_at IS NULL DESC, started_at DESC LIMIT 1`,
    [instanceId, action],
  );
  return rows[0]?.id ?? null;
}

export async function recordEvent(
  db: Queryable,
  e: {
    actionId: string | null;
    event: string;
    host?: string | null;
    result: 'Success' | 'Error' | null;
    details?: string | null;
    finish?: boolean;
    /** When the step began, if before now (the scheduler's decision); else now. */
    startedAt?: Date;
    /** When it ended, if before now; else now (when it has a result). */
    finishedAt?: Date;
  },
): Promise<void> {
  if (!e.actionId) return;
  await db.query(
    `INSERT INTO instance_action_events (action_id, event, host, result, details, started_at, finished_at)
     VALUES ($1, $2, $3, $4, $5, coalesce($6, clock_timestamp()), CASE WHEN $4::text IS NULL THEN NULL ELSE coalesce($7, clock_timestamp()) END)`,
    [e.actionId, e.event, e.host ?? null, e.result, e.details ?? null, e.startedAt ?? null, e.finishedAt ?? null],
  );
  if (e.finish) await finishAction(db, e.actionId, e.result === 'Error' ? e.details ?? 'Error' : null);
}

/**
 * Records events of each instance's latest action of this name and finishes those actions, in one statement
 * for any number of instances. Events keep the order given: each ends a microsecond after the one before it, as
 * rows of a join come in no particular order.
 */
export async function finishWithEvents(
  db: Queryable,
  action: string,
  items: { instanceId: string; events: { event: string; host: string | null; result: 'Success' | 'Error'; details?: string | null }[] }[],
): Promise<void> {
  const rows = items.flatMap((item) => item.events.map((e) => ({ id: item.instanceId, ...e })));
  if (rows.length === 0) return;
  await db.query(
    `WITH e AS (SELECT * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS e(instance_id, event, host, result, details, n)),
          a AS (SELECT t.instance_id, (SELECT id FROM instance_actions WHERE instance_id = t.instance_id AND action = $1
                                        ORDER BY finished_at IS NULL DESC, started_at DESC LIMIT 1) AS id
                  FROM (SELECT DISTINCT instance_id FROM e) t),
          t AS (SELECT clock_timestamp() AS at),
          ev AS (INSERT INTO instance_action_events (action_id, event, host, result, details, finished_at)
                 SELECT a.id, e.event, e.host, e.result, e.details, t.at + e.n * interval '1 microsecond'
                   FROM e JOIN a USING (instance_id) CROSS JOIN t WHERE a.id IS NOT NULL
                  ORDER BY e.n)
     UPDATE instance_actions SET finished_at = COALESCE(finished_at, clock_timestamp()) WHERE id IN (SELECT id FROM a)`,
    [action, rows.map((r) => r.id), rows.map((r) => r.event), rows.map((r) => r.host), rows.map((r) => r.result), rows.map((r) => r.details ?? null)],
  );
}

export async function finishAction(db: Queryable, actionId: string, message: string | null): Promise<void> {
  await db.query(
    'UPDATE instance_actions SET finished_at = COALESCE(finished_at, clock_timestamp()), message = COALESCE($2, message) WHERE id = $1',
    [actionId, message],
  );
}

export async function recordFault(
  db: Queryable,
  f: { instanceId: string; code: number; message: string; details?: string | null; host?: string | null; explanation?: Explanation | null },
) {
  await db.query('INSERT INTO instance_faults (instance_id, code, message, details, host, explanation) VALUES ($1, $2, $3, $4, $5, $6)', [
    f.instanceId,
    f.code,
    f.message,
    f.details ?? null,
    f.host ?? null,
    f.explanation ? JSON.stringify(f.explanation) : null,
  ]);
}

export { powerStateName };
