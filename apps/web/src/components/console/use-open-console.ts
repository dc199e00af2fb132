'use client';

import { useCallback } from 'react';
import { describeApiError, isUnauthorized } from '@/lib/api-error';
import { useTRPCClient } from '@/lib/trpc';
import type { ConsoleType, OpenConsoleResult } from './types';

const SIGNED_OUT = 'Your session has ended. Sign in again to open the console.';

const why = (error: unknown) => (isUnauthorized(error) ? SIGNED_OUT : describeApiError(error));

/**
 * Asks the API for a fresh token for console `type` of server `id`. Never throws, so the page can say why it
 * has no console.
 */
export function useOpenConsole(id: string, type: ConsoleType): () => Promise<OpenConsoleResult> {
  const client = useTRPCClient();
  return useCallback(async (): Promise<OpenConsoleResult> => {
    try {
      const issued = await client.servers.getConsole.mutate({ id, type });
      return { ok: true, websocketUrl: issued.websocketUrl, token: issued.token, expiresAt: new Date(issued.expiresAt).toISOString() };
    } catch (error) {
      return { ok: false, message: why(error) };
    }
  }, [client, id, type]);
}
