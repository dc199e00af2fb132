import { createHash } from 'node:crypto';
import type { NotificationListener } from './listener.ts';
import { hashedOnce } from './memo.ts';

/**
 * Each queue has a wake-up channel of its own, so that a send wakes only the workers of its queue (with a
 * thousand hosts listening, one shared channel would wake them all for every job). Hashed: a queue name can
 * be longer than a channel name may be, and hold characters a channel name may not.
 */
export const wakeChannel = hashedOnce((queue) => `aster_q_${createHash('sha256').update(queue).digest('hex').slice(0, 32)}`);

/**
 * The worker loops of this process waiting to be woken, by queue: a notification on a queue's channel pokes
 * each of them, and so does a reconnect of the listener (whatever was sent while it was deaf waits).
 */
export class WakeUps {
  private readonly pokes = new Map<string, Set<() => void>>();
  /** Wake-up channel → queue, for the queues this process works. */
  private readonly queues = new Map<string, string>();

  constructor(private readonly listener: NotificationListener) {}

  /** Pokes `poke` at every wake-up of `queue`, until the function answered is called. */
  add(queue: string, poke: () => void): () => void {
    const set = this.pokes.get(queue) ?? new Set();
    set.add(poke);
    this.pokes.set(queue, set);
    return () => set.delete(poke);
  }

  /** Listens for `queue`'s wake-ups (once per queue): a job sent after this answers wakes its workers. */
  async listen(queue: string): Promise<void> {
    const channel = wakeChannel(queue);
    if (this.queues.has(channel)) return;
    this.queues.set(channel, queue);
    await this.listener.listen(channel);
  }

  /** A notification arrived on `channel`. */
  notified(channel: string): void {
    const queue = this.queues.get(channel);
    if (queue) for (const poke of this.pokes.get(queue) ?? []) poke();
  }

  /** Pokes every loop (after a reconnect, or to stop). */
  pokeAll(): void {
    for (const set of this.pokes.values()) for (const poke of set) poke();
  }
}
