import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, TRPCClientError, type TRPCClient } from '@trpc/client';
import { EventSource } from 'eventsource';
import type { AppRouter } from '@aster/api';

export type { AppRouter };
export { TRPCClientError };

export type AsterClient = TRPCClient<AppRouter>;

export interface ClientOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:8774`. */
  url: string;
  /** A bearer token from `login`. */
  token?: string | undefined;
  /** Sent as X-Request-Id, to find a call in the API's logs. */
  requestId?: string;
  fetch?: typeof globalThis.fetch;
}

function trpcUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/trpc$/, '') + '/trpc';
}

/** A typed client for the Aster API; works in a plain Node 20 script, a browser, or a server component. */
export function createAsterClient(options: ClientOptions): AsterClient {
  const headers = (): Record<string, string> => ({
    ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    ...(options.requestId ? { 'x-request-id': options.requestId } : {}),
  });
  const fetchImpl = options.fetch ?? globalThis.fetch;
  return createTRPCClient<AppRouter>({
    links: [
      // Subscriptions (servers.watch) stream over SSE on the same endpoint; the rest is batched HTTP.
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url: trpcUrl(options.url),
          // The `eventsource` package (Node 20 has no EventSource) lets the token travel as a header.
          EventSource,
          eventSourceOptions: () => ({
            fetch: (input: string | URL | Request, init?: RequestInit) =>
              fetchImpl(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), ...headers() } }),
          }),
        }),
        false: httpBatchLink({
          url: trpcUrl(options.url),
          ...(options.fetch ? { fetch: options.fetch } : {}),
          headers,
        }),
      }),
    ],
  });
}

export type LoginOptions =
  | { url: string; username: string; password: string; project?: string }
  | { url: string; credentialId: string; secret: string };

export type LoginResult = Awaited<ReturnType<AsterClient['auth']['login']['mutate']>>;

/** Signs in with a password or an application credential; the result's token goes to `createAsterClient`. */
export async function login(options: LoginOptions): Promise<LoginResult> {
  const { url, ...input } = options;
  return createAsterClient({ url }).auth.login.mutate(input);
}

/** The tRPC error code of a failed call ('UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', …), if it is one. */
export function errorCode(error: unknown): string | undefined {
  if (error instanceof TRPCClientError) {
    const data = (error as TRPCClientError<AppRouter>).data as { code?: string } | undefined;
    return data?.code;
  }
  return undefined;
}
