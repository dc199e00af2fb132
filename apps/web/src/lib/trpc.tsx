'use client';

import type { AppRouter } from '@aster/client';
import { QueryCache, QueryClient, QueryClientProvider, MutationCache } from '@tanstack/react-query';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, TRPCClientError } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { useState, type ReactNode } from 'react';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** A session the API no longer accepts: back to sign-in, then to this page. */
function onUnauthorized(error: unknown) {
  if (error instanceof TRPCClientError && error.data?.code === 'UNAUTHORIZED' && typeof window !== 'undefined') {
    const here = window.location.pathname + window.location.search;
    window.location.assign(`/session/expired?next=${encodeURIComponent(here)}`);
  }
}

function makeQueryClient() {
  return new QueryClient({
    queryCache: new QueryCache({ onError: onUnauthorized }),
    mutationCache: new MutationCache({ onError: onUnauthorized }),
    defaultOptions: {
      // Lists stay fresh through servers.watch and the refreshes after each action, not by refetching on a timer.
      queries: { staleTime: 30_000, refetchOnWindowFocus: false, retry: (n, error) => !(error instanceof TRPCClientError && error.data?.code) && n < 2 },
    },
  });
}

/**
 * Client components reach the API through the web console's /api/trpc (which adds the session's token
 * from its httpOnly cookie): batched calls over HTTP, subscriptions over SSE.
 */
export function ApiProvider({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === 'subscription',
          true: httpSubscriptionLink({ url: '/api/trpc' }),
          false: httpBatchLink({ url: '/api/trpc' }),
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
