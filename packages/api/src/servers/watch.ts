import { tracked, type TrackedEnvelope } from '@trpc/server';
import type { Queryable } from '@aster/db';
import type { Auth, Context } from '../context.ts';
import type { InstanceRow } from '../compute/instances.ts';
import { toServers, type Server } from './view.ts';

const PAGE = 500;
const POLL_MS = 10;
const MAX_WAIT_MS = 10_000;

/**
 * The highest change number below which no further change can commit. Change numbers are taken when a row
 * is written, not when it commits, so a slow transaction can commit a lower number after a higher one: read
 * the last number taken, then wait for every transaction that may hold one to end. Any such transaction
 * locked `instances` for writing before it took its number, so it is among the lock holders seen after.
 */
export async function settledChange(
  db: Queryable,
  options: { signal?: AbortSignal; maxWaitMs?: number; ignore?: Set<string>; onStall?: (holders: string[]) => void } = {},
): Promise<bigint> {
  const { rows } = await db.query<{ seq: string }>(
    `SELECT (CASE WHEN is_called THEN last_value ELSE last_value - 1 END)::text AS seq FROM instance_change_seq`,
  );
  const taken = BigInt(rows[0]!.seq);
  const holders = async (among: string[] | null) =>
    (
      await db.query<{ vxid: string }>(
        `SELECT DISTINCT virtualtransaction AS vxid FROM pg_locks
          WHERE locktype = 'relation' AND relation = 'instances'::regclass AND mode = 'RowExclusiveLock'
            AND virtualtransaction IS NOT NULL AND ($1::text[] IS NULL OR virtualtransaction = ANY($1))`,
        [among],
      )
    ).rows
      .map((r) => r.vxid)
      .filter((v) => !options.ignore?.has(v));
  // A transaction left open on instances must not stall every watch: past the limit, go on without it (and
  // `ignore` remembers it, so that later rounds do not wait for it again).
  const deadline = Date.now() + (options.maxWaitMs ?? MAX_WAIT_MS);
  let open = await holders(null);
  while (open.length && !options.signal?.aborted) {
    if (Date.now() > deadline) {
      for (const v of open) options.ignore?.add(v);
      options.onStall?.(open);
      break;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
    open = await holders(open);
  }
  return taken;
}

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
        for (const s of await toServers(ctx.db, rows, auth.isAdmin)) yield tracked(s.changeSeq, s);
        if (rows.length < PAGE) break;
        readTo = BigInt(rows[rows.length - 1]!.change_seq);
      }
      readTo = upTo;
    }
  } finally {
    feed.close();
  }
}
