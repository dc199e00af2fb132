import type { Context } from '../context.ts';
import { NETWORK_CHANNEL, type Caller, type NetworkChange } from './common.ts';

/**
 * networks.watch: each change of the network model the caller may see, as it commits (tenants: their project's
 * objects and those of no project, the shared and external networks; administrators: all). A notification is
 * only a hint: a page that hears one reads what it shows again. The watch holds one database connection
 * while it runs (LISTEN needs its own).
 */
export async function* watchNetworks(ctx: Context, caller: Caller, signal?: AbortSignal): AsyncGenerator<NetworkChange> {
  const client = await ctx.db.connect();
  const queue: NetworkChange[] = [];
  let wake: (() => void) | null = null;
  const onNotification = (msg: { channel: string; payload?: string }) => {
    if (msg.channel !== NETWORK_CHANNEL || !msg.payload) return;
    let change: NetworkChange;
    try {
      change = JSON.parse(msg.payload) as NetworkChange;
    } catch {
      return;
    }
    if (!caller.isAdmin && change.projectId !== null && change.projectId !== caller.project.id) return;
    queue.push(change);
    wake?.();
  };
  const onAbort = () => wake?.();
  client.on('notification', onNotification);
  signal?.addEventListener('abort', onAbort);
  try {
    await client.query(`LISTEN ${NETWORK_CHANNEL}`);
    while (!signal?.aborted) {
      const next = queue.shift();
      if (next) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 30_000);
        wake = () => {
          clearTimeout(timer);
          wake = null;
          resolve();
        };
      });
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    client.off('notification', onNotification);
    await client.query(`UNLISTEN ${NETWORK_CHANNEL}`).catch(() => {});
    client.release();
  }
}
