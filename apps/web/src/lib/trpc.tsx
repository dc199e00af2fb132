'use client';

import type { AppRouter } from '@aster/client';
import { MutationCache, QueryCache, QueryClientProvider } from '@tanstack/react-query';
import { createTRPCClient, httpBatchLink, httpLink, httpSubscriptionLink, splitLink, TRPCClientError } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { useState, type ReactNode } from 'react';
import { makeQueryClient } from './query-client';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** A session the API no longer accepts: back to sign-in, then to this page. */
export function onUnauthorized(error: unknown) {
  if (error instanceof TRPCClientError && error.data?.code === 'UNAUTHORIZED' && typeof window !== 'undefined') {
    const here = window.location.pathname + window.location.search;
    window.location.assign(`/session/expired?next=${encodeURIComponent(here)}`);
  }
}

/**
 * A call's own request id (`client.x.mutate(input, { context: { requestId } })`): the API records it with the
 * instance action it starts, so the action's outcome can be found in the server's action log.
 */
export interface CallContext extends Record<string, unknown> {
  requestId?: string;
}

/** A fresh request id in the API's form; crypto.getRandomValues also works on a page served over plain HTTP. */
export function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `req-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

const URL = '/api/trpc';

/**
 * The browser half of the one path from pages to the API (lib/trpc-server.tsx is the other): client components
 * read with useQuery (finding what the server prefetched) and mutate through the web app's /api/trpc, which
 * adds the session's token from its httpOnly cookie. Calls are batched, a call with its own request id goes
 * alone, and subscriptions stream over SSE.
 */
export function ApiProvider({ children }: { children: ReactNode }) {
  const [queryClient] = useState(() =>
    makeQueryClient({ queryCache: new QueryCache({ onError: onUnauthorized }), mutationCache: new MutationCache({ onError: onUnauthorized }) }),
  );
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === 'subscription',
          true: httpSubscriptionLink({ url: URL }),
          false: splitLink({
            condition: (op) => typeof (op.context as CallContext).requestId === 'string',
            true: httpLink({ url: URL, headers: ({ op }) => ({ 'x-request-id': (op.context as CallContext).requestId ?? '' }) }),
            false: httpBatchLink({ url: URL }),
          }),
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
