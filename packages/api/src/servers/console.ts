import { randomBytes } from 'node:crypto';
import { actionAllowed, CONSOLE_TYPES, hashConsoleToken, whyNot, type ConsoleType } from '@aster/compute';
import { computeQueue, consoleEndpoints, getConsoles } from '@aster/jobs';
import type { Auth, Context } from '../context.ts';
import { AsterError } from '../errors.ts';
import { statusOf } from '../compute/instances.ts';
import { computeServiceUp } from '../services/registry.ts';
import { visibleServer } from './actions.ts';

export { CONSOLE_TYPES as consoleTypes, hashConsoleToken, type ConsoleType };

/** The hypervisor's console each type of client speaks to. */
const endpointOf: Record<ConsoleType, 'vnc' | 'spice' | 'serial'> = { novnc: 'vnc', 'spice-html5': 'spice', serial: 'serial' };
const label: Record<ConsoleType, string> = { novnc: 'VNC', 'spice-html5': 'SPICE', serial: 'serial' };

/** What a client needs to open a console: the page to open, or the WebSocket to connect to with the token. */
export interface ConsoleAccess {
  type: ConsoleType;
  url: string;
  websocketUrl: string;
  token: string;
  expiresAt: string;
}

/**
 * A console token for one of the server's consoles (Nova's get_vnc_console, get_spice_console and
 * get_serial_console). The host is asked where the console listens, so the proxy's target never comes from
 * a client; the token is good until it expires or the guest stops or restarts.
 */
export async function openConsole(ctx: Context, auth: Auth, id: string, type: ConsoleType): Promise<ConsoleAccess> {
  const jobs = ctx.jobs;
  if (!jobs) throw new Error('this API process has no job queue');
  const row = await visibleServer(ctx, auth, id);
  const status = statusOf(row);
  const why = whyNot('getConsole', row.vm_state, row.task_state, status);
  if (why || !row.host) {
    // Refused only for the task (the state itself has a console): say what to wait for.
    const task = row.task_state;
    const what = task !== null && actionAllowed('getConsole', row.vm_state, null) ? `busy ${task.replaceAll('_', ' ')} (status ${status}); try again when that ends` : status;
    throw new AsterError('InvalidState', `console not available: server ${row.name} is ${what}`);
  }
  if (!(await computeServiceUp(ctx.db, row.host, ctx.now(), ctx.config.serviceDownSeconds))) {
    throw new AsterError('Conflict', `The console of ${row.name} cannot be opened: its host is down (no heartbeat for ${ctx.config.serviceDownSeconds} s)`);
  }
  let endpoints;
  try {
    const answer = await jobs.call(getConsoles, computeQueue(row.host), { instanceId: id }, { requestId: ctx.requestId, timeoutMs: 15_000 });
    endpoints = consoleEndpoints.parse(answer).consoles;
  } catch (error) {
    throw new AsterError('Conflict', `The consoles of ${row.name} could not be read from its host: ${error instanceof Error ? error.message : String(error)}`);
  }
  const endpoint = endpoints.find((e) => e.type === endpointOf[type]);
  if (!endpoint) {
    const has = endpoints.map((e) => e.type.toUpperCase()).join(', ') || 'none';
    throw new AsterError('Conflict', `Server ${row.name} has no ${label[type]} console on its host (it has: ${has})`);
  }

  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(ctx.now().getTime() + ctx.config.consoleTokenTtlSeconds * 1000);
  // Written only if the server is still where it was asked about, in the same state: a stop or a move
  // that landed meanwhile would leave a token to ports that are no longer this guest's.
  const { rowCount } = await ctx.db.query(
    `INSERT INTO console_tokens (token_hash, instance_id, console_type, host, target_host, target_port, user_id, project_id, expires_at)
     SELECT $1, i.id, $3, i.host, $5, $6, $7, i.project_id, $8 FROM instances i
      WHERE i.id = $2 AND i.host = $4 AND i.deleted_at IS NULL AND i.power_state = $9 AND i.task_state IS NOT DISTINCT FROM $10`,
    [hashConsoleToken(token), id, type, row.host, endpoint.host, endpoint.port, auth.user.id, expiresAt, row.power_state, row.task_state],
  );
  if (!rowCount) throw new AsterError('Conflict', `Server ${row.name} changed state while its console was being opened; try again`);
  ctx.log.info('console token issued', { instance: id, type, host: row.host, user: auth.user.id, expiresAt: expiresAt.toISOString() });
  return {
    type,
    url: `${ctx.config.webUrl}/servers/${id}/console?type=${type}`,
    websocketUrl: `${ctx.config.proxyUrl}/?token=${token}`,
    token,
    expiresAt: expiresAt.toISOString(),
  };
}

/** Forgets tokens that expired long enough ago that "token expired" is no longer worth saying. */
export async function pruneConsoleTokens(db: Context['db']): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM console_tokens WHERE expires_at < now() - interval '1 day'`);
  return rowCount ?? 0;
}
