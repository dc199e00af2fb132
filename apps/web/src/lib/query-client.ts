import { QueryClient, type QueryClientConfig } from '@tanstack/react-query';
import { TRPCClientError } from '@trpc/client';

/**
 * The one QueryClient setup: a fresh one per request for server components (their prefetches are handed to
 * the browser by HydrateClient) and one per signed-in app in the browser. Data read on the server is fresh for
 * 30 s in the browser, so a hydrated page is not listed again on arrival; lists stay current through
 * servers.watch and the refreshes after each action, not by refetching on a timer.
 */
export function makeQueryClient({ server = false, ...caches }: Pick<QueryClientConfig, 'queryCache' | 'mutationCache'> & { server?: boolean } = {}) {
  return new QueryClient({
    ...caches,
    defaultOptions: {
      queries: {
        staleTime: 30_000,
        refetchOnWindowFocus: false,
        // A page render does not wait on retries: what failed there is read again in the browser, which
        // retries a call that got no answer (never one the API refused).
        retry: server ? false : (n, error) => !(error instanceof TRPCClientError && error.data?.code) && n < 2,
      },
    },
  });
}
