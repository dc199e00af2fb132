import { tracked, type TrackedEnvelope } from '@trpc/server';
import type { Auth, Context } from '../context.ts';
import type { InstanceRow } from '../compute/instances.ts';
import { toServers, type Server } from './view.ts';

const PAGE = 500;

/**
 * servers.watch: every change of the caller's servers (all, for administrators) after `lastEventId`, or
 * after the latest change when none is given, as tracked events whose id is the change number.
 */
export async function* watchServers(ctx: Context, auth: Auth, lastEventId: string | null, signal?: AbortSignal): AsyncGenerator<TrackedEnvelope<Server>> {
  const changes = ctx.changes;
  if (!changes) throw new Error('this API process does not serve watches');
  // Armed before the first read, so that a change committing during it wakes the loop.
  const feed = changes.subscribe();
  try {
    const scope = auth.isAdmin ? null : auth.project.id;
    let seenBefore = changes.seen;
    let readTo: bigint;
    if (lastEventId !== null) readTo = BigInt(lastEventId);
    else {
      const { rows } = await ctx.db.query<{ seq: string }>(`SELECT COALESCE(max(change_seq), 0)::text AS seq FROM instances`);
      readTo = BigInt(rows[0]!.seq);
    }
    while (!signal?.aborted) {
      // One horizon for every watcher of this process, read after whatever woke this one.
      const upTo = await changes.settled(seenBefore);
      if (signal?.aborted) break;
      if (upTo <= readTo) {
        await feed.next(signal);
        seenBefore = changes.seen;
        continue;
      }
      for (;;) {
        const { rows }: { rows: InstanceRow[] } = await ctx.db.query<InstanceRow>(
          `SELECT * FROM instances WHERE change_seq > $1 AND change_seq <= $2 AND ($3::uuid IS NULL OR project_id = $3)
            ORDER BY change_seq LIMIT ${PAGE}`,
          [readTo.toString(), upTo.toString(), scope],
        );
        for (const s of await toServers(ctx.db, rows, auth.isAdmin, ctx.config.defaultAvailabilityZone)) yield tracked(s.changeSeq, s);
        if (rows.length < PAGE) break;
        readTo = BigInt(rows[rows.length - 1]!.change_seq);
      }
      readTo = upTo;
    }
  } finally {
    feed.close();
  }
}
