/**
 * Words for a WebSocket close. The console proxy accepts the upgrade and then closes with a code and a
 * reason, since a browser never sees an HTTP refusal; its reason is shown as it is. Without one, the code
 * says what happened (1006 is a connection that failed or dropped with no close frame at all).
 */
const byCode: Record<number, string> = {
  1000: 'the console was closed',
  1001: 'the console proxy is shutting down',
  1005: 'the connection closed without a reason',
  1006: 'the console proxy could not be reached or the connection dropped',
  1008: 'the console proxy refused the connection',
  1011: 'the console proxy hit an internal error',
  1015: 'the secure connection to the console proxy failed',
  4001: 'unknown token',
  4002: 'token expired',
  4003: 'origin not allowed',
  4004: 'console not available',
  4005: 'host unreachable',
  4006: 'too many console sessions',
  4007: 'token no longer valid',
  4008: 'token expired',
};

export function describeClose(code: number, reason: string): string {
  const given = reason.trim();
  if (given) return given;
  return byCode[code] ?? `the connection closed (code ${code})`;
}
