import type { AsterClient } from '@aster/client';
import { CliError } from './errors.ts';
import type { Server } from './views.ts';

/** Where a server stands against what is awaited: there, never getting there, or on its way. */
export type Goal = (s: Server) => 'done' | 'failed' | null;

export const stateOf = (s: Server) => `${s.status}${s.taskState ? ` (${s.taskState.replaceAll('_', ' ')})` : ''}`;

/** Idle in `status`; ERROR (or gone, unless that is the goal) is failure. */
export function reach(status: string): Goal {
  return (s) => {
    if (s.status === status && s.taskState === null) return 'done';
    if (s.status === 'ERROR' && s.taskState === null) return 'failed';
    if (s.status === 'DELETED') return 'failed';
    return null;
  };
}

/** Why a server did not get where it was asked to go, in the API's words where it recorded some. */
export const failure = (s: Server) => `Server ${s.name} (${s.id}) is ${stateOf(s)}${s.fault ? `: ${s.fault.message}` : ''}`;

/**
 * Follows the servers through servers.watch (no polling) until each is done or failed, answering their
 * last states. Watching starts from the oldest change given, so a change that landed before the
 * subscription opened is still seen.
 */
export function waitForServers(
  client: AsterClient,
  servers: readonly Server[],
  goal: Goal,
  options: { timeoutSeconds: number; what: string; onChange?: (s: Server) => void },
): Promise<Server[]> {
  const latest = new Map(servers.map((s) => [s.id, s]));
  const settled = () => [...latest.values()].every((s) => goal(s) !== null);
  if (settled()) return Promise.resolve([...latest.values()]);
  const from = servers.map((s) => BigInt(s.changeSeq)).reduce((a, b) => (b < a ? b : a));
  return new Promise<Server[]>((resolve, reject) => {
    let done = false;
    const finish = (error: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      subscription.unsubscribe();
      if (error) reject(error);
      else resolve([...latest.values()]);
    };
    const timer = setTimeout(() => {
      const waiting = [...latest.values()].filter((s) => goal(s) === null);
      finish(new CliError(`Timed out after ${options.timeoutSeconds} s waiting for ${options.what}: ${waiting.map((s) => `${s.name} is ${stateOf(s)}`).join(', ')}`));
    }, options.timeoutSeconds * 1000);
    const subscription = client.servers.watch.subscribe(
      { lastEventId: from.toString() },
      {
        onData: ({ data }) => {
          const known = latest.get(data.id);
          if (!known || BigInt(data.changeSeq) <= BigInt(known.changeSeq)) return;
          latest.set(data.id, data);
          options.onChange?.(data);
          if (settled()) finish(null);
        },
        onError: (error) => finish(error),
      },
    );
  });
}
