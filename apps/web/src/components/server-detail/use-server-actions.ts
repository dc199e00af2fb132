'use client';

import { useRouter } from 'next/navigation';
import { useCallback } from 'react';
import { useServerActions as useTracker } from '@/components/server-actions/tracker';
import { focusOnArrival, INSTANCES_HEADING } from '@/lib/arrival-focus';
import type { ActionInput, ActionKind } from './action-kinds';
import type { Server } from './types';

/**
 * The server page's actions, each followed to its end by the app's tracker (its toasts say how it ended).
 * Answers whether the API accepted it; a dialog stays open on a refusal, with its toast. A deleted server's
 * page is left for the list at once.
 */
export function useServerActions(server: Server) {
  const { run: track } = useTracker();
  const router = useRouter();
  const run = useCallback(
    async (kind: ActionKind, input: ActionInput = {}): Promise<boolean> => {
      const [accepted = false] = await track(kind, [server], input);
      if (accepted && kind === 'delete') {
        // The list it goes to takes the focus on its heading, not on the page's body.
        focusOnArrival(INSTANCES_HEADING);
        router.push('/servers');
      }
      return accepted;
    },
    [track, server, router],
  );
  return { run };
}
