'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useEffect, useRef } from 'react';
import { useServerWatch } from '@/lib/server-watch';
import { useTRPC } from '@/lib/trpc';

// Changes come in bursts (a router interface is a port, a router and a subnet's use): one read after the burst.
const SETTLE_MS = 150;

/**
 * Keeps every networking query of the page current: networks.watch says that something the caller may see
 * changed, and the page reads what it shows again (the watch is a hint, not the data). Server changes (a
 * server booting, deleted, its ports bound) refresh the ports and the topology too. Answers why live updates
 * stopped, if they did. Call it once per page.
 */
export function useNetworkLive(): { error: Error | null } {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const keys = [
    trpc.networks.pathKey(),
    trpc.subnets.pathKey(),
    trpc.ports.pathKey(),
    trpc.routers.pathKey(),
    trpc.floatingIps.pathKey(),
    trpc.securityGroups.pathKey(),
  ];
  const refresh = () => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      timer.current = null;
      for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey });
    }, SETTLE_MS);
  };
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  const watch = useSubscription(
    trpc.networks.watch.subscriptionOptions(undefined, {
      // What changed between the page's read and the watch's start is read once more.
      onStarted: refresh,
      onData: refresh,
    }),
  );
  const servers = useServerWatch({ onData: refresh });
  return { error: (watch.error as Error | null) ?? servers.error };
}
