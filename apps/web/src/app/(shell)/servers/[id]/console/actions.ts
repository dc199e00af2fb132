'use server';

import { z } from 'zod';
import type { ConsoleLogResult, ConsoleType, OpenConsoleResult } from '@/components/console/types';
import { CONSOLE_TYPES } from '@/components/console/types';
import { API_UNREACHABLE, describeApiError, isUnauthorized } from '@/lib/api-error';
import { log } from '@/lib/log';
import { apiClient, sessionToken } from '@/lib/session';

// Server Actions are public endpoints: their arguments are checked like any other input.
const serverId = z.string().min(1).max(64);
const consoleType = z.enum(CONSOLE_TYPES);
const SIGNED_OUT = 'Your session has ended. Sign in again to open the console.';

function failure(error: unknown, what: string): { ok: false; message: string } {
  if (isUnauthorized(error)) return { ok: false, message: SIGNED_OUT };
  const message = describeApiError(error);
  if (message === API_UNREACHABLE) log.error(`${what} failed without an API answer`, { error });
  return { ok: false, message };
}

/** A fresh console token for server `id`; never throws, so the page can show why it has no console. */
export async function openConsole(id: string, type: ConsoleType): Promise<OpenConsoleResult> {
  const input = z.object({ id: serverId, type: consoleType }).safeParse({ id, type });
  if (!input.success) return { ok: false, message: 'That is not a server id and console type.' };
  const token = await sessionToken();
  if (!token) return { ok: false, message: SIGNED_OUT };
  try {
    const issued = await apiClient(token).servers.getConsole.mutate(input.data);
    return { ok: true, websocketUrl: issued.websocketUrl, token: issued.token, expiresAt: new Date(issued.expiresAt).toISOString() };
  } catch (error) {
    return failure(error, 'getConsole');
  }
}

/** The last `lines` lines of the server's serial console output. */
export async function readConsoleLog(id: string, lines: number): Promise<ConsoleLogResult> {
  const input = z.object({ id: serverId, lines: z.number().int().min(1).max(10_000) }).safeParse({ id, lines });
  if (!input.success) return { ok: false, message: 'That is not a server id and a line count.' };
  const token = await sessionToken();
  if (!token) return { ok: false, message: SIGNED_OUT };
  try {
    const { output } = await apiClient(token).servers.consoleLog.query(input.data);
    return { ok: true, output };
  } catch (error) {
    return failure(error, 'consoleLog');
  }
}
