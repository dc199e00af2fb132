import { NETWORK_QUEUE, syncNetworks } from '@aster/jobs';
import type { PoolClient, Queryable } from '@aster/db';
import type { Context } from '../context.ts';
import { AsterError } from '../errors.ts';

/** Who is asking: the caller's project, and whether they administer the cloud. */
export interface Caller {
  project: { id: string; name: string };
  isAdmin: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => UUID.test(s);

/** The Postgres channel every change of the network model is announced on, as `{kind, id, projectId}`. */
export const NETWORK_CHANNEL = 'aster_network_changes';

export type ChangeKind = 'network' | 'subnet' | 'port' | 'router' | 'floatingIp' | 'securityGroup';
export interface NetworkChange {
  kind: ChangeKind;
  id: string;
  /** The owner, null for a network of no project (shared or external, seen by everyone). */
  projectId: string | null;
  /** True when the object is gone. */
  deleted?: boolean;
}

/** Announces a change on NETWORK_CHANNEL; inside a transaction it is heard only if it commits. */
export async function notifyChange(db: Queryable, change: NetworkChange): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [NETWORK_CHANNEL, JSON.stringify(change)]);
}

/**
 * Inside the transaction of a change: the `syncNetworks` job for the network worker (it exists only if the
 * change commits) and the announcement of the change. Every change of the model ends with this.
 */
export async function announce(ctx: Pick<Context, 'jobs' | 'requestId'>, client: PoolClient, change: NetworkChange, reason: string): Promise<void> {
  if (!ctx.jobs) throw new Error('this API process has no job queue');
  await ctx.jobs.ensureQueue(NETWORK_QUEUE);
  await ctx.jobs.send(syncNetworks, NETWORK_QUEUE, { reason: reason.slice(0, 200) }, { requestId: ctx.requestId, db: client });
  await notifyChange(client, change);
}

/** Refuses a caller without a job queue before anything is read or written. */
export function needJobs(ctx: Pick<Context, 'jobs'>): void {
  if (!ctx.jobs) throw new Error('this API process has no job queue');
}

export const notFound = (what: string, id: string) => new AsterError('NotFound', `${what} ${id} not found`);

/** "1 port" / "2 ports". */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A list of names shortened to ten, "and N more". */
export function listed(names: string[]): string {
  return names.slice(0, 10).join(', ') + (names.length > 10 ? `, and ${names.length - 10} more` : '');
}

/** Postgres error codes a change can meet. */
export const pgCode = (error: unknown) => (error as { code?: string; constraint?: string } | null)?.code;
export const pgConstraint = (error: unknown) => (error as { constraint?: string } | null)?.constraint;
