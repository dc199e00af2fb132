'use client';

import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useServerWatch } from '@/lib/server-watch';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { totals, type Holding, type Point } from './series';

/** How far back the chart reaches from the moment the page opened. */
export const HISTORY_MS = 6 * 60 * 60 * 1000;

/**
 * The project's servers as the page opened them (for the past) and every change seen since (for the live
 * part). There is no history API, so nothing before the page opened is more than a reconstruction.
 */
export function useUsageHistory() {
  const trpc = useTRPC();
  const whoami = useWhoami();
  const [openedAt] = useState(() => Date.now());
  const [now, setNow] = useState(openedAt);
  const list = useQuery(trpc.servers.list.queryOptions({ limit: 1000 }, { staleTime: Infinity }));
  const held = useRef<Map<string, Holding> | null>(null);
  const [initial, setInitial] = useState<Holding[] | null>(null);
  const [live, setLive] = useState<Point[]>([]);

  // Seeded once: later refetches of the list must not rewrite what the page has already seen.
  useEffect(() => {
    if (held.current || !list.data) return;
    const alive = list.data.servers.filter((s) => s.status !== 'DELETED' && s.projectId === whoami.project.id);
    held.current = new Map(alive.map((s) => [s.id, { vcpus: s.flavor.vcpus, created: Date.parse(s.created) }]));
    setInitial([...held.current.values()]);
    setLive([totals(held.current.values(), openedAt)]);
  }, [list.data, openedAt, whoami.project.id]);

  const watch = useServerWatch({
    onData: (server) => {
      const map = held.current;
      // Administrators hear every project's servers; this chart is about the current one.
      if (!map || server.projectId !== whoami.project.id) return;
      const before = totals(map.values(), 0);
      if (server.status === 'DELETED' || server.deletedAt) map.delete(server.id);
      else map.set(server.id, { vcpus: server.flavor.vcpus, created: Date.parse(server.created) });
      const after = totals(map.values(), Date.now());
      if (after.instances !== before.instances || after.cores !== before.cores) setLive((points) => [...points, after]);
    },
  });

  // The clock moves the right edge of the chart along; it asks the API nothing.
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);

  const lastLive = live[live.length - 1];
  return {
    openedAt,
    now: Math.max(now, lastLive?.t ?? 0),
    initial,
    live,
    truncated: Boolean(list.data?.nextMarker),
    error: list.error ?? watch.error,
    isPending: list.isPending,
  };
}
