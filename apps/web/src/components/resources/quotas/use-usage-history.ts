'use client';

import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useServerWatch } from '@/lib/server-watch';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import type { Holding } from './series';

/** How far back the chart reaches from now. */
export const HISTORY_MS = 6 * 60 * 60 * 1000;

/**
 * The project's servers that held its quota over the last hours, from the API's record (limits.history,
 * deleted servers included), kept up to date by every change the watch brings while the page is open.
 */
export function useUsageHistory() {
  const trpc = useTRPC();
  const whoami = useWhoami();
  const [openedAt] = useState(() => Date.now());
  const [now, setNow] = useState(openedAt);
  const history = useQuery(trpc.limits.history.queryOptions({ since: new Date(openedAt - HISTORY_MS).toISOString() }, { staleTime: Infinity }));
  const held = useRef<Map<string, Holding> | null>(null);
  const [holdings, setHoldings] = useState<Holding[] | null>(null);

  // Seeded once: what the watch has brought since must not be undone by a refetch.
  useEffect(() => {
    if (held.current || !history.data) return;
    held.current = new Map(
      history.data.servers.map((s) => [s.id, { vcpus: s.vcpus, created: Date.parse(s.createdAt), deleted: s.deletedAt ? Date.parse(s.deletedAt) : null }]),
    );
    setHoldings([...held.current.values()]);
  }, [history.data]);

  const watch = useServerWatch({
    onData: (server) => {
      const map = held.current;
      // Administrators hear every project's servers; this chart is about the current one.
      if (!map || server.projectId !== whoami.project.id) return;
      const gone = server.status === 'DELETED' || server.deletedAt !== null;
      const deleted = gone ? (server.deletedAt ? Date.parse(server.deletedAt) : Date.now()) : null;
      map.set(server.id, { vcpus: server.flavor.vcpus, created: Date.parse(server.created), deleted });
      setHoldings([...map.values()]);
    },
  });

  // The clock moves the chart's end along with now; it asks the API nothing.
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);

  return {
    now,
    holdings,
    truncated: history.data?.truncated ?? false,
    error: history.error ?? watch.error,
    isPending: history.isPending,
  };
}
