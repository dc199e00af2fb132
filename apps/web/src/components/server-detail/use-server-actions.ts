'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useMemo, useRef } from 'react';
import { useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { focusOnArrival, INSTANCES_HEADING } from '@/lib/arrival-focus';
import { useTRPC, useTRPCClient } from '@/lib/trpc';
import { type ActionInput, type ActionKind, PROGRESS } from './action-kinds';
import { lockInput } from './lock';
import { newer, type Server } from './types';

/** An action the page waits on: it ends with the first idle view of the server after `sinceSeq`. */
interface Tracked {
  kind: ActionKind;
  sinceSeq: bigint;
  sawBusy: boolean;
}

/**
 * Runs server actions: toasts "Stopping web-1…" at once, then, when the watch shows the task ended, the
 * new status or why it failed (from the action log's events), and refreshes the action log.
 */
export function useServerActions(server: Server) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const toast = useToast();
  const router = useRouter();
  const tracked = useRef<Tracked[]>([]);
  const getKey = useMemo(() => trpc.servers.get.queryKey({ id: server.id }), [trpc, server.id]);
  const actionsKey = useMemo(() => trpc.servers.actions.queryKey({ id: server.id }), [trpc, server.id]);
  const mutation = useMutation({ mutationFn: (call: () => Promise<unknown>) => call() });

  const remember = useCallback(
    (view: Server) => queryClient.setQueryData<Server>(getKey, (old) => newer(old, view)),
    [queryClient, getKey],
  );

  const finish = useCallback(
    async (done: Tracked, view: Server) => {
      await queryClient.invalidateQueries({ queryKey: actionsKey });
      if (view.status === 'ERROR' && view.fault) {
        toast.show('error', `${view.name} is ERROR: ${view.fault.message}`);
        return;
      }
      // A failed task often leaves the server as it was: the action log's events say why.
      const log = await queryClient.fetchQuery(trpc.servers.actions.queryOptions({ id: view.id })).catch(() => null);
      const latest = log?.reduce<(typeof log)[number] | undefined>((a, b) => (!a || b.startedAt >= a.startedAt ? b : a), undefined);
      const failed = latest?.events.find((e) => e.result === 'Error');
      if (failed) toast.show('error', `${PROGRESS[done.kind]} ${view.name} failed: ${failed.details ?? latest?.message ?? failed.event}`);
      else toast.show('success', `${view.name} is ${view.status}`);
    },
    [queryClient, actionsKey, toast, trpc],
  );

  // Every newer view of the server (watch or answer) may end the actions waited on.
  useEffect(() => {
    const seq = BigInt(server.changeSeq);
    const still: Tracked[] = [];
    for (const t of tracked.current) {
      if (seq <= t.sinceSeq) still.push(t);
      else if (server.taskState) still.push({ ...t, sawBusy: true });
      else if (t.sawBusy) void finish(t, server);
      else still.push(t);
    }
    tracked.current = still;
  }, [server, finish]);

  const call = useCallback(
    (kind: ActionKind, input: ActionInput): Promise<unknown> => {
      const id = server.id;
      switch (kind) {
        case 'rebootSoft':
        case 'rebootHard':
          return client.servers.reboot.mutate({ id, type: kind === 'rebootHard' ? 'HARD' : 'SOFT' });
        case 'resize':
          return client.servers.resize.mutate({ id, flavorId: input.flavorId ?? '' });
        case 'rebuild':
          return client.servers.rebuild.mutate({ id, imageId: input.imageId ?? '' });
        case 'createImage':
          return client.servers.createImage.mutate({ id, name: input.name ?? '' });
        case 'rescue':
          return client.servers.rescue.mutate({ id });
        case 'lock':
          return client.servers.lock.mutate(lockInput(id, input.reason));
        default:
          return client.servers[kind].mutate({ id });
      }
    },
    [client, server.id],
  );

  const run = useCallback(
    async (kind: ActionKind, input: ActionInput = {}): Promise<boolean> => {
      const name = server.name;
      const before = BigInt(server.changeSeq);
      toast.show('info', `${PROGRESS[kind]} ${name}…`);
      try {
        const answer = await mutation.mutateAsync(() => call(kind, input));
        if (kind === 'delete') {
          // The list it goes to takes the focus on its heading, not on the page's body.
          focusOnArrival(INSTANCES_HEADING);
          router.push('/servers');
          return true;
        }
        const view = answer && typeof answer === 'object' && 'changeSeq' in answer ? (answer as Server) : null;
        if (view) remember(view);
        if (view && !view.taskState) {
          // Lock and unlock end with the answer.
          toast.show('success', `${view.name} is ${view.locked ? 'locked' : 'unlocked'}`);
          await queryClient.invalidateQueries({ queryKey: actionsKey });
        } else {
          const t: Tracked = { kind, sinceSeq: view ? BigInt(view.changeSeq) : before, sawBusy: view !== null };
          // The watch may have shown the end before this answer came.
          const current = queryClient.getQueryData<Server>(getKey);
          if (t.sawBusy && current && BigInt(current.changeSeq) > t.sinceSeq && !current.taskState) void finish(t, current);
          else tracked.current.push(t);
        }
        return true;
      } catch (error) {
        toast.show('error', `${PROGRESS[kind]} ${name} failed: ${describeApiError(error)}`);
        return false;
      }
    },
    [server.name, server.changeSeq, toast, mutation, call, router, remember, queryClient, actionsKey, getKey, finish],
  );

  return { run, busy: mutation.isPending };
}
