'use client';

import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useCallback, useRef } from 'react';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { mergeServer } from './merge';
import type { ListInput, Server } from './types';

/**
 * One page of servers, kept live by servers.watch: each change is merged into the cached page instead of
 * listing again. Other cached pages are only marked stale, so they are listed afresh when shown.
 */
export function useLiveServers(input: ListInput) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const whoami = useWhoami();
  // The previous page stays shown while another filter, sort or page is listed.
  const list = useQuery({ ...trpc.servers.list.queryOptions(input), placeholderData: keepPreviousData });
  const key = trpc.servers.list.queryKey(input);
  // The latest input and key, read by the subscription's callback without restarting it.
  const current = useRef({ input, key });
  current.current = { input, key };

  const merge = useCallback(
    (servers: Server[]) => {
      const { input: shown, key: shownKey } = current.current;
      queryClient.setQueryData(shownKey, (old) =>
        old ? servers.reduce((acc, s) => mergeServer(acc, s, shown, whoami.project.id), old) : old,
      );
      void queryClient.invalidateQueries({
        queryKey: trpc.servers.list.queryKey(),
        refetchType: 'none',
        predicate: (q) => JSON.stringify(q.queryKey) !== JSON.stringify(shownKey),
      });
    },
    [queryClient, trpc, whoami.project.id],
  );

  const watch = useSubscription(
    trpc.servers.watch.subscriptionOptions(undefined, {
      // Changes that committed between the list and the watch's start are seen by listing once more.
      onStarted: () => void queryClient.invalidateQueries({ queryKey: trpc.servers.list.queryKey() }),
      onData: (event) => merge([event.data]),
    }),
  );
  return { list, merge, watchError: watch.error };
}
