import type { AppRouter } from '@aster/client';
import { dehydrate, HydrationBoundary, type FetchQueryOptions, type QueryKey } from '@tanstack/react-query';
import { createTRPCOptionsProxy } from '@trpc/tanstack-react-query';
import { cache, type ReactNode } from 'react';
import { apiClient, sessionToken } from './api-client';
import { makeQueryClient } from './query-client';

/**
 * The server half of the one path from pages to the API (create-t3-turbo's prefetch and hydrate): a server
 * component reads with `serverTRPC()` into this request's QueryClient and wraps its client components in
 * <HydrateClient>, which hands what it read to the browser's cache; client components then read the same
 * queries with useQuery from @/lib/trpc and find them there. Mutations go through the browser's client.
 */

/** One QueryClient per request (React's cache lasts one server render). */
export const getQueryClient = cache(() => makeQueryClient({ server: true }));

/** tRPC's query options for server components, calling the API with the session's token. */
export const serverTRPC = cache(async () =>
  createTRPCOptionsProxy<AppRouter>({ client: apiClient(await sessionToken()), queryClient: getQueryClient }),
);

/**
 * Reads a query into this request's QueryClient before the page renders, so its HTML has the data and the
 * browser does not ask again. A failed read is not handed over: the browser reads it itself and shows why.
 */
export function prefetch<TQueryFnData, TError, TData, TQueryKey extends QueryKey>(query: FetchQueryOptions<TQueryFnData, TError, TData, TQueryKey>): Promise<void> {
  return getQueryClient().prefetchQuery(query);
}

/** Hands this request's prefetched queries to the client components inside. */
export function HydrateClient({ children }: { children: ReactNode }) {
  return <HydrationBoundary state={dehydrate(getQueryClient())}>{children}</HydrationBoundary>;
}

/** Whether a cloud administrator is signed in: admin pages read their data for them only (others are told the page is not for them). */
export async function signedInAsAdmin(): Promise<boolean> {
  const trpc = await serverTRPC();
  const whoami = await getQueryClient()
    .fetchQuery(trpc.auth.whoami.queryOptions())
    .catch(() => null);
  return whoami?.isAdmin ?? false;
}
