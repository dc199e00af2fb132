'use client';

import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useServerWatch } from '@/lib/server-watch';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { mergeServer } from './merge';
import type { ListInput } from './types';

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
  const shownKey = trpc.servers.list.queryKey(input);

  const watch = useServerWatch({
    onData: (server) => {
      queryClient.setQueryData(shownKey, (old) => (old ? mergeServer(old, server, input, whoami.project.id) : old));
      void queryClient.invalidateQueries({
        queryKey: trpc.servers.list.queryKey(),
        refetchType: 'none',
        predicate: (q) => JSON.stringify(q.queryKey) !== JSON.stringify(shownKey),
      });
    },
    // Changes that committed between the list and the watch's start are seen by listing once more.
    onStarted: () => void queryClient.invalidateQueries({ queryKey: trpc.servers.list.queryKey() }),
  });
  return { list, watchError: watch.error };
}
