'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useEffect, useState } from 'react';
import { useServerWatch } from '@/lib/server-watch';
import { useTRPC } from '@/lib/trpc';

// Changes come in bursts (a router interface is a port, a router and a subnet's use): one read after the burst.
const SETTLE_MS = 150;

/** Runs the last function given once no other has come for SETTLE_MS. */
class Settle {
  private timer: ReturnType<typeof setTimeout> | null = null;
  run(fn: () => void): void {
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = null;
      fn();
    }, SETTLE_MS);
  }
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * Keeps every networking query of the page current: networks.watch says that something the caller may see
 * changed, and the page reads what it shows again (the watch is a hint, not the data). Server changes (a
 * server booting, deleted, its ports bound) refresh the ports and the topology too. Answers why live updates
 * stopped, if they did. Call it once per page.
 */
export function useNetworkLive(): { error: Error | null } {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [settle] = useState(() => new Settle());
  const keys = [
    trpc.networks.pathKey(),
    trpc.subnets.pathKey(),
    trpc.ports.pathKey(),
    trpc.routers.pathKey(),
    trpc.floatingIps.pathKey(),
    trpc.securityGroups.pathKey(),
  ];
  const refresh = () =>
    settle.run(() => {
      for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey });
    });
  useEffect(() => () => settle.cancel(), [settle]);
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
