import { actionAllowed, actionRules, whyNot, type ServerAction } from '@aster/compute';
import { computeQueue, getConsoleLog, serverAction, terminateInstance } from '@aster/jobs';
import { transaction } from '@aster/db';
import type { Auth, Context } from '../context.ts';
import { AsterError } from '../errors.ts';
import { beginTask, finishAction, loadInstance, recordEvent, startAction, statusOf, type InstanceRow } from '../compute/instances.ts';
import { freeAllocations, instanceConsumers } from '../compute/placement.ts';
import { freePorts, portsOf } from '../compute/ipam.ts';
import { computeServiceUp } from '../services/registry.ts';

/** A server the caller may see: its project's, or any for an administrator. Deleted ones are gone. */
export async function visibleServer(ctx: Context, auth: Auth, id: string): Promise<InstanceRow> {
  const row = await loadInstance(ctx.db, id);
  if (!row || row.deleted_at || (!auth.isAdmin && row.project_id !== auth.project.id)) throw new AsterError('NotFound', `Server ${id} not found`);
  return row;
}

/** Refuses a locked server to anyone but an administrator; `doing` ends "unlock it before you …" ("stop it"). */
export function checkLock(row: InstanceRow, auth: Auth, action: string, doing = `${action} it`): void {
  if (!row.locked || auth.isAdmin) return;
  const by = row.locked_by === 'admin' ? 'an administrator' : 'its project';
  throw new AsterError(
    'InvalidState',
    `Server ${row.name} is locked by ${by}${row.locked_reason ? ` (${row.locked_reason})` : ''}; unlock it before you ${doing}`,
  );
}

/** The job queues, which every action that hands work to a host needs. */
export function jobsOf(ctx: Context) {
  if (!ctx.jobs) throw new Error('this API process has no job queue');
  return ctx.jobs;
}

/**
 * What every host action checks first: the server is the caller's (or the caller is an administrator), not
 * locked (`doing` words the lock's refusal; null for an action a lock does not stop, as a snapshot), in a
 * state the action may start from, and on a host. Answers the server and its host.
 */
export async function serverForHostAction(ctx: Context, auth: Auth, id: string, action: ServerAction, doing: string | null) {
  const row = await visibleServer(ctx, auth, id);
  if (doing !== null) checkLock(row, auth, action, doing);
  const why = whyNot(action, row.vm_state, row.task_state, statusOf(row));
  if (why) throw new AsterError('InvalidState', why);
  if (!row.host) throw new AsterError('InvalidState', `Server ${row.name} has no host (status ${statusOf(row)}); it can only be deleted`);
  return { row, host: row.host };
}

type HostAction = 'stop' | 'start' | 'rebootSoft' | 'rebootHard' | 'pause' | 'unpause' | 'suspend' | 'resume';
const actionNames: Record<HostAction, string> = {
  stop: 'stop',
  start: 'start',
  rebootSoft: 'reboot',
  rebootHard: 'reboot',
  pause: 'pause',
  unpause: 'unpause',
  suspend: 'suspend',
  resume: 'resume',
};

/**
 * A power action: compare-and-set the task state, record the action, and hand the work to the server's host
 * in one transaction. The host reports back to the conductor, which records the outcome.
 */
export async function runHostAction(ctx: Context, auth: Auth, id: string, action: HostAction) {
  const jobs = jobsOf(ctx);
  const { row, host } = await serverForHostAction(ctx, auth, id, action, `${actionNames[action]} it`);
  return transaction(ctx.db, async (client) => {
    const updated = await beginTask(client, row, action, actionRules[action]);
    const actionId = await startAction(client, {
      instanceId: id,
      action: actionNames[action],
      requestId: ctx.requestId,
      userId: auth.user.id,
      projectId: auth.project.id,
    });
    await recordEvent(client, { actionId, event: `api_${action}`, result: null });
    await jobs.send(serverAction, computeQueue(host), { instanceId: id, action }, { requestId: ctx.requestId, db: client });
    return updated;
  });
}

/**
 * Delete: a server not yet on a host is gone at once (its quota, claim and ports freed); one on a host is
 * marked `deleting` and the host tears it down, then the conductor frees what it held.
 */
export async function deleteServer(ctx: Context, auth: Auth, id: string) {
  const jobs = ctx.jobs;
  if (!jobs) throw new Error('this API process has no job queue');
  const row = await visibleServer(ctx, auth, id);
  checkLock(row, auth, 'delete');
  if (!actionAllowed('delete', row.vm_state, row.task_state)) throw new AsterError('InvalidState', `Server ${row.name} is already being deleted`);
  return transaction(ctx.db, async (client) => {
    const locked = (await loadInstance(client, id, { forUpdate: true }))!;
    const actionId = await startAction(client, { instanceId: id, action: 'delete', requestId: ctx.requestId, userId: auth.user.id, projectId: auth.project.id });
    // A host that is down cannot tear the server down: delete it here (Nova's local delete); the host
    // destroys what is left when it starts again (the conductor's cleanup at host start).
    const hostDown = locked.host !== null && !(await computeServiceUp(client, locked.host, ctx.now(), ctx.config.serviceDownSeconds));
    if (!locked.host || hostDown) {
      await client.query(
        `UPDATE instances SET vm_state = 'deleted', task_state = NULL, power_state = 0, deleted_at = clock_timestamp(),
                terminated_at = clock_timestamp() WHERE id = $1`,
        [id],
      );
      await freeAllocations(client, await instanceConsumers(client, id));
      await freePorts(client, id);
      await recordEvent(client, {
        actionId,
        event: 'api_delete',
        result: 'Success',
        host: hostDown ? locked.host : null,
        details: hostDown ? 'the host is down; deleted without it (it cleans up when it starts again)' : null,
        finish: true,
      });
      return (await loadInstance(client, id))!;
    }
    const updated = await beginTask(client, locked, 'delete', actionRules.delete);
    await recordEvent(client, { actionId, event: 'api_delete', result: null });
    const ports = ((await portsOf(client, [id])).get(id) ?? []).map((p) => ({ mac: p.mac, ip: p.ip }));
    await jobs.send(terminateInstance, computeQueue(locked.host), { instanceId: id, ports }, { requestId: ctx.requestId, db: client });
    return updated;
  });
}

export async function setLock(ctx: Context, auth: Auth, id: string, lock: boolean, reason?: string) {
  const row = await visibleServer(ctx, auth, id);
  if (!lock && row.locked && row.locked_by === 'admin' && !auth.isAdmin) {
    throw new AsterError('Forbidden', `Server ${row.name} was locked by an administrator; only an administrator can unlock it`);
  }
  // As in Nova, locking a locked server is a no-op for its project: otherwise it could take over an administrator's lock.
  if (lock && row.locked && !auth.isAdmin) return row;
  const by = auth.isAdmin && auth.project.id !== row.project_id ? 'admin' : auth.isAdmin ? 'admin' : 'owner';
  const { rows } = await ctx.db.query<InstanceRow>(
    `UPDATE instances SET locked = $2, locked_by = $3, locked_reason = $4 WHERE id = $1 AND deleted_at IS NULL RETURNING *`,
    [id, lock, lock ? by : null, lock ? reason ?? null : null],
  );
  const actionId = await startAction(ctx.db, { instanceId: id, action: lock ? 'lock' : 'unlock', requestId: ctx.requestId, userId: auth.user.id, projectId: auth.project.id });
  await finishAction(ctx.db, actionId, null);
  return rows[0]!;
}

export async function consoleLogOf(ctx: Context, auth: Auth, id: string, lines: number | undefined) {
  const jobs = ctx.jobs;
  if (!jobs) throw new Error('this API process has no job queue');
  const row = await visibleServer(ctx, auth, id);
  const why = whyNot('consoleLog' as ServerAction, row.vm_state, row.task_state, statusOf(row));
  if (why || !row.host) throw new AsterError('InvalidState', why ?? `Server ${row.name} has no host yet (status ${statusOf(row)}), so it has no console output`);
  // Asking a host that is down would only time out: say so at once.
  if (!(await computeServiceUp(ctx.db, row.host, ctx.now(), ctx.config.serviceDownSeconds))) {
    throw new AsterError('Conflict', `The console log of ${row.name} cannot be read: its host is down (no heartbeat for ${ctx.config.serviceDownSeconds} s)`);
  }
  try {
    const answer = (await jobs.call(getConsoleLog, computeQueue(row.host), { instanceId: id, lines: lines ?? null }, { requestId: ctx.requestId, timeoutMs: 15_000 })) as {
      output: string;
    };
    return { output: answer.output };
  } catch (error) {
    throw new AsterError('Conflict', `The console log of ${row.name} could not be read from its host: ${error instanceof Error ? error.message : String(error)}`);
  }
}
