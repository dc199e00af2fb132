import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { closes, hashToken, isTokenShaped, originAllowed, originAllowList, refusalFor, tokenOf, type ConsoleTarget } from '../src/index.ts';

const target = (over: Partial<ConsoleTarget> = {}): ConsoleTarget => ({
  tokenHash: Buffer.alloc(32),
  consoleType: 'novnc',
  host: 'host-1',
  targetHost: '127.0.0.1',
  targetPort: 5900,
  expiresAt: new Date(),
  revokedAt: null,
  revokedReason: null,
  instanceId: 'i',
  instanceName: 'web-1',
  projectId: 'p',
  userId: null,
  userName: null,
  vmState: 'active',
  taskState: null,
  powerState: 1,
  instanceDeleted: false,
  expiresInMs: 60_000,
  ...over,
});

describe('refusalFor', () => {
  it('lets a running, paused, rescued or resized server with a live token through', () => {
    expect(refusalFor(target())).toBeNull();
    expect(refusalFor(target({ vmState: 'paused', powerState: 3 }))).toBeNull();
    expect(refusalFor(target({ vmState: 'rescued' }))).toBeNull();
    expect(refusalFor(target({ vmState: 'resized' }))).toBeNull();
  });

  it('says why not, expiry before state', () => {
    expect(refusalFor(null)).toEqual(closes.unknownToken);
    expect(refusalFor(target({ instanceDeleted: true }))).toEqual(closes.unknownToken);
    expect(refusalFor(target({ expiresInMs: 0, vmState: 'stopped', powerState: 4 }))).toEqual(closes.tokenExpired);
    expect(refusalFor(target({ vmState: 'suspended', powerState: 7 }))).toEqual({ code: 4004, reason: 'console not available: server is SUSPENDED' });
    expect(refusalFor(target({ vmState: 'active', powerState: 4 }))).toEqual({ code: 4004, reason: 'console not available: server is ACTIVE' });
    expect(refusalFor(target({ revokedAt: new Date(), revokedReason: 'the server was rebuilt after it was issued' }))).toEqual({
      code: 4007,
      reason: 'token no longer valid: the server was rebuilt after it was issued',
    });
    expect(refusalFor(target({ revokedAt: new Date(), revokedReason: 'x', vmState: 'stopped', powerState: 4 }))).toEqual({ code: 4004, reason: 'console not available: server is SHUTOFF' });
  });

  it('keeps a long revocation reason within a close frame', () => {
    const close = refusalFor(target({ revokedAt: new Date(), revokedReason: 'é'.repeat(200) }))!;
    expect(close.code).toBe(4007);
    expect(Buffer.byteLength(close.reason)).toBeLessThanOrEqual(123);
  });
});

describe('originAllowed', () => {
  const list = originAllowList(['https://console.example.com', 'OPS.example.net']);
  it('follows Nova: no Origin passes, the same host name on any port passes, else the allow-list', () => {
    expect(originAllowed(undefined, 'proxy.example.com:6080', list)).toBe(true);
    expect(originAllowed('https://proxy.example.com', 'proxy.example.com:6080', list)).toBe(true);
    expect(originAllowed('http://[::1]:3000', '[::1]:6080', list)).toBe(true);
    expect(originAllowed('https://console.example.com', 'proxy.example.com', list)).toBe(true);
    expect(originAllowed('https://console.example.com:443', 'proxy.example.com', list)).toBe(true);
    expect(originAllowed('http://ops.example.net:9000', 'proxy.example.com', list)).toBe(true);
    expect(originAllowed('https://console.example.com:8443', 'proxy.example.com', list)).toBe(false);
    expect(originAllowed('https://other.example.com', 'proxy.example.com', list)).toBe(false);
    expect(originAllowed('file://proxy.example.com', 'proxy.example.com', list)).toBe(false);
    expect(originAllowed('not a url', 'proxy.example.com', list)).toBe(false);
  });
});

describe('tokens', () => {
  const req = (url: string, cookie?: string) => ({ url, headers: cookie ? { cookie } : {} }) as IncomingMessage;
  it('reads the query string first, then the cookie', () => {
    expect(tokenOf(req('/?token=abc', 'aster_console_token=def'))).toBe('abc');
    expect(tokenOf(req('/websockify', 'a=1; aster_console_token=def; b=2'))).toBe('def');
    expect(tokenOf(req('/'))).toBeNull();
    expect(tokenOf(req('/', 'other=1'))).toBeNull();
  });

  it('knows the shape of a token and hashes it as the API does', () => {
    const token = Buffer.alloc(32, 7).toString('base64url');
    expect(isTokenShaped(token)).toBe(true);
    expect(isTokenShaped(token + 'x')).toBe(false);
    expect(isTokenShaped('a'.repeat(42) + '=')).toBe(false);
    // FIPS 180-2's test vector: SHA-256 of the UTF-8 text, as raw 32 bytes.
    expect(hashToken('abc').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
