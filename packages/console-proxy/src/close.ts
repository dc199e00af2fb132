/**
 * How a console session ends, as the browser sees it: the proxy accepts every WebSocket upgrade and then
 * closes with one of these codes and a reason a person can read (a refused HTTP upgrade reaches a page
 * only as 1006, with no reason). This table is the contract with the web console.
 */
export const closeCodes = {
  unknownToken: 4001,
  tokenExpired: 4002,
  originNotAllowed: 4003,
  consoleNotAvailable: 4004,
  hostUnreachable: 4005,
  tooManySessions: 4006,
  tokenRevoked: 4007,
  expiredDuringSession: 4008,
  targetClosed: 1000,
  shuttingDown: 1001,
  lookupFailed: 1011,
} as const;

export type CloseCode = (typeof closeCodes)[keyof typeof closeCodes];

export interface Close {
  code: number;
  reason: string;
}

// A close frame's reason is at most 123 bytes of UTF-8.
const MAX_REASON_BYTES = 123;

function fit(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_REASON_BYTES) return reason;
  let out = reason;
  while (Buffer.byteLength(out + '…') > MAX_REASON_BYTES) out = out.slice(0, -1);
  return out + '…';
}

export const closes = {
  unknownToken: { code: closeCodes.unknownToken, reason: 'unknown token' },
  tokenExpired: { code: closeCodes.tokenExpired, reason: 'token expired' },
  originNotAllowed: { code: closeCodes.originNotAllowed, reason: 'origin not allowed' },
  consoleNotAvailable: (status: string): Close => ({ code: closeCodes.consoleNotAvailable, reason: fit(`console not available: server is ${status}`) }),
  hostUnreachable: { code: closeCodes.hostUnreachable, reason: 'host unreachable' },
  tooManySessions: { code: closeCodes.tooManySessions, reason: 'too many console sessions' },
  tokenRevoked: (why: string): Close => ({ code: closeCodes.tokenRevoked, reason: fit(`token no longer valid: ${why}`) }),
  expiredDuringSession: { code: closeCodes.expiredDuringSession, reason: 'token expired' },
  targetClosed: { code: closeCodes.targetClosed, reason: 'console closed by the server' },
  /** The target ended because the server stopped: say so rather than a bare "closed". */
  serverStopped: (status: string): Close => ({ code: closeCodes.targetClosed, reason: fit(`console closed: server is ${status}`) }),
  /** …or because a task (a reboot, a stop) is under way. */
  serverBusy: (task: string): Close => ({ code: closeCodes.targetClosed, reason: fit(`console closed: server is busy ${task}`) }),
  shuttingDown: { code: closeCodes.shuttingDown, reason: 'proxy shutting down' },
  /** The token store could not be read (the database is down): nothing the client did. */
  lookupFailed: { code: closeCodes.lookupFailed, reason: 'console tokens cannot be checked now; try again' },
} as const satisfies Record<string, Close | ((arg: string) => Close)>;
