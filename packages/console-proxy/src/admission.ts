import type { IncomingMessage } from 'node:http';
import { CONSOLE_TOKEN_COOKIE, powerStates, serverStatus, type TaskState, type VmState } from '@aster/compute';
import { closes, type Close } from './close.ts';
import type { ConsoleTarget } from './tokens.ts';

/** The cookie a console page sets for clients that open several WebSockets (SPICE opens one per channel). */
export const TOKEN_COOKIE = CONSOLE_TOKEN_COOKIE;

/**
 * Normalises an allow-list: full origins ("https://console.example.com") and bare host names
 * ("console.example.com", any scheme and port) may be given.
 */
export function originAllowList(entries: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) continue;
    if (entry.includes('://')) {
      try {
        out.add(new URL(entry).origin.toLowerCase());
      } catch {
        throw new Error(`allowed origin ${JSON.stringify(entry)} is not a URL`);
      }
    } else {
      out.add(entry.toLowerCase());
    }
  }
  return out;
}

function hostnameOf(hostHeader: string | undefined): string | null {
  if (!hostHeader) return null;
  try {
    return new URL(`http://${hostHeader}`).hostname.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * Nova's rule: a request without Origin is not from a browser and passes; otherwise the Origin must be
 * http(s) and either name the host the client connected to (any port: the console page is served from
 * another port) or be on the allow-list.
 */
export function originAllowed(origin: string | undefined, hostHeader: string | undefined, allowList: ReadonlySet<string>): boolean {
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const hostname = url.hostname.toLowerCase();
  if (hostname === hostnameOf(hostHeader)) return true;
  return allowList.has(url.origin.toLowerCase()) || allowList.has(hostname);
}

/** The token from the query string, else from the console cookie; null when neither has one. */
export function tokenOf(req: IncomingMessage): string | null {
  const query = new URL(req.url ?? '/', 'http://proxy.invalid').searchParams.get('token');
  if (query) return query;
  const cookie = req.headers.cookie;
  if (!cookie) return null;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== TOKEN_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(value) || null;
    } catch {
      return value || null;
    }
  }
  return null;
}

const CONSOLE_VM_STATES = new Set(['active', 'paused', 'rescued', 'resized']);
const CONSOLE_POWER_STATES = new Set<number>([powerStates.RUNNING, powerStates.PAUSED]);

/** The server's status (ACTIVE, SHUTOFF …) and whether a guest in that state has a console to reach. */
export function consoleState(target: Pick<ConsoleTarget, 'vmState' | 'taskState' | 'powerState' | 'instanceDeleted'>): { status: string; available: boolean } {
  if (target.instanceDeleted) return { status: 'DELETED', available: false };
  const status = serverStatus(target.vmState as VmState, target.taskState as TaskState | null);
  return { status, available: CONSOLE_POWER_STATES.has(target.powerState) && CONSOLE_VM_STATES.has(target.vmState) };
}

/** Why a looked-up token opens no session (null: it may), checked in the order a person would want to hear. */
export function refusalFor(target: ConsoleTarget | null): Close | null {
  if (!target || target.instanceDeleted) return closes.unknownToken;
  if (target.expiresInMs <= 0) return closes.tokenExpired;
  const { status, available } = consoleState(target);
  if (target.revokedAt) {
    return available ? closes.tokenRevoked(target.revokedReason ?? 'the server stopped or restarted after it was issued') : closes.consoleNotAvailable(status);
  }
  if (!available) return closes.consoleNotAvailable(status);
  return null;
}
