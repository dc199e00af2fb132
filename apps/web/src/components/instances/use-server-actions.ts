'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC, useTRPCClient } from '@/lib/trpc';
import type { RowAction, Server } from './types';

const doing: Record<RowAction, string> = { start: 'Starting', stop: 'Stopping', reboot: 'Rebooting', delete: 'Deleting' };

/**
 * Runs an action on servers, each on its own, and toasts each outcome: success, or the API's reason.
 * The answers are merged at once; the watch brings the rest of each action's progress.
 */
export function useServerActions(merge: (servers: Server[]) => void) {
  const client = useTRPCClient();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();

  return useCallback(
    async (action: RowAction, servers: Server[]) => {
      const call = (id: string) =>
        action === 'reboot' ? client.servers.reboot.mutate({ id, type: 'SOFT' }) : client.servers[action].mutate({ id });
      const results = await Promise.allSettled(servers.map((s) => call(s.id)));
      const done: Server[] = [];
      results.forEach((r, i) => {
        const name = servers[i]?.name ?? '';
        if (r.status === 'fulfilled') {
          done.push(r.value);
          toast.show('success', `${doing[action]} ${name}`);
        } else {
          toast.show('error', `${name}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
        }
      });
      if (done.length) merge(done);
      // Deleting frees quota; the launch dialog reads it.
      if (action === 'delete') void queryClient.invalidateQueries({ queryKey: trpc.limits.pathKey() });
      return results.map((r) => r.status === 'fulfilled');
    },
    [client, merge, queryClient, toast, trpc],
  );
}
