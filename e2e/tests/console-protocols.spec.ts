import { randomBytes } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { adminCredentials, signInToApi, type AsterClient } from '../helpers/api.ts';
import { deleteServer, launchTinyGuest, reachStatus } from '../helpers/guest.ts';
import { WireClient } from '../helpers/wire.ts';

/**
 * The console proxy between a script and a real guest, protocol by protocol: RFB to QEMU's VNC server, the
 * SPICE link handshake, the serial port's shell; then its refusals, each with a reason a person can read.
 */

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

/** RFB 3.8 with security None, up to one full-screen FramebufferUpdate in raw encoding; answers its pixels. */
async function rfbFramebuffer(wire: WireClient): Promise<{ width: number; height: number; name: string; pixels: Buffer; bytesPerPixel: number }> {
  expect((await wire.read(12)).toString('latin1')).toBe('RFB 003.008\n');
  wire.send('RFB 003.008\n');
  const count = (await wire.read(1))[0]!;
  expect(count, 'the server offers security types').toBeGreaterThan(0);
  const types = [...(await wire.read(count))];
  expect(types, 'security None (1) is offered').toContain(1);
  wire.send(Buffer.from([1]));
  expect((await wire.read(4)).readUInt32BE(0), 'SecurityResult OK').toBe(0);
  wire.send(Buffer.from([1])); // ClientInit: shared
  const init = await wire.read(24);
  const width = init.readUInt16BE(0);
  const height = init.readUInt16BE(2);
  const bytesPerPixel = init[4]! / 8;
  const name = (await wire.read(init.readUInt32BE(20))).toString('utf8');
  // SetEncodings [Raw], then one non-incremental FramebufferUpdateRequest for the whole screen.
  wire.send(Buffer.concat([Buffer.from([2, 0]), u16(1), Buffer.alloc(4)]));
  wire.send(Buffer.concat([Buffer.from([3, 0]), u16(0), u16(0), u16(width), u16(height)]));
  for (;;) {
    const type = (await wire.read(1))[0];
    if (type === 2) continue; // Bell
    if (type === 3) {
      const head = await wire.read(7);
      await wire.read(head.readUInt32BE(3)); // ServerCutText
      continue;
    }
    expect(type, 'a FramebufferUpdate').toBe(0);
    const rects = (await wire.read(3)).readUInt16BE(1);
    const parts: Buffer[] = [];
    for (let i = 0; i < rects; i++) {
      const r = await wire.read(12);
      const [w, h, encoding] = [r.readUInt16BE(4), r.readUInt16BE(6), r.readInt32BE(8)];
      expect(encoding, 'raw encoding, the only one asked for').toBe(0);
      parts.push(await wire.read(w * h * bytesPerPixel, 60_000));
    }
    return { width, height, name, pixels: Buffer.concat(parts), bytesPerPixel };
  }
}

test.describe.serial('console proxy with a real guest', () => {
  let client: AsterClient;
  let server: { id: string; name: string };
  const open = async (type: 'novnc' | 'spice-html5' | 'serial') => client.servers.getConsole.mutate({ id: server.id, type });

  test.beforeAll(async () => {
    test.setTimeout(5 * 60_000);
    client = await signInToApi(adminCredentials());
    server = await launchTinyGuest(client, `e2e-console-${Date.now().toString(36)}`);
  });
  test.afterAll(async () => {
    if (server) await deleteServer(client, server.id);
  });

  test('VNC: the RFB handshake and a framebuffer with the guest’s screen on it', async () => {
    const access = await open('novnc');
    expect(access.websocketUrl).toMatch(/^ws:\/\/.+\/\?token=[A-Za-z0-9_-]{43}$/);
    expect(access.url).toMatch(new RegExp(`/servers/${server.id}/console\\?type=novnc$`));
    const wire = await WireClient.open(access.websocketUrl);
    expect(wire.socket.protocol).toBe('binary');
    const fb = await rfbFramebuffer(wire);
    expect(fb.width * fb.height).toBeGreaterThan(0);
    expect(fb.pixels.length).toBe(fb.width * fb.height * fb.bytesPerPixel);
    const lit = fb.pixels.filter((b) => b !== 0).length;
    expect(lit, 'the guest’s text console has lit pixels').toBeGreaterThan(100);
    wire.close();
  });

  test('SPICE: the link handshake is answered with REDQ and no error', async () => {
    const wire = await WireClient.open((await open('spice-html5')).websocketUrl);
    // SpiceLinkHeader (magic, major 2, minor 2, size) and a SpiceLinkMess for the main channel, no caps.
    const mess = Buffer.alloc(18);
    mess.writeUInt32LE(0, 0); // connection id
    mess[4] = 1; // channel type: main
    mess[5] = 0; // channel id
    mess.writeUInt32LE(18, 14); // caps offset
    const header = Buffer.alloc(16);
    header.write('REDQ', 0, 'latin1');
    header.writeUInt32LE(2, 4);
    header.writeUInt32LE(2, 8);
    header.writeUInt32LE(mess.length, 12);
    wire.send(Buffer.concat([header, mess]));
    const reply = await wire.read(16);
    expect(reply.subarray(0, 4).toString('latin1')).toBe('REDQ');
    expect(reply.readUInt32LE(4), 'SPICE protocol major version').toBe(2);
    const body = await wire.read(reply.readUInt32LE(12));
    expect(body.readUInt32LE(0), 'SpiceLinkReply error: OK').toBe(0);
    wire.close();
  });

  test('serial: a command typed through the proxy runs in the guest’s shell', async () => {
    const wire = await WireClient.open((await open('serial')).websocketUrl);
    wire.send('\r');
    wire.send('echo aster-$RANDOM-$((6*7))\r');
    // The shell echoes the line as typed, then prints its result: the number and 42 come from the guest.
    const match = await wire.until(/(?:^|\n)aster-(\d+)-42\r?\n/);
    expect(Number(match[1])).toBeGreaterThanOrEqual(0);
    wire.close();
  });

  test('refuses unknown tokens and foreign origins, saying why', async () => {
    const base = new URL((await open('serial')).websocketUrl);
    const unknown = await WireClient.open(`${base.origin}/?token=${randomBytes(32).toString('base64url')}`);
    expect(await unknown.closed).toEqual({ code: 4001, reason: 'unknown token' });
    const none = await WireClient.open(`${base.origin}/`);
    expect(await none.closed).toEqual({ code: 4001, reason: 'unknown token' });
    const foreign = await WireClient.open((await open('novnc')).websocketUrl, { Origin: 'http://attacker.example' });
    expect(await foreign.closed).toEqual({ code: 4003, reason: 'origin not allowed' });
  });

  test('a stopped server closes its console and refuses its tokens; a deleted one’s tokens are unknown', async () => {
    test.setTimeout(5 * 60_000);
    const live = await WireClient.open((await open('novnc')).websocketUrl);
    expect((await live.read(12)).toString('latin1')).toBe('RFB 003.008\n');
    const stale = await open('novnc');
    await client.servers.stop.mutate({ id: server.id });
    const ended = await live.closed;
    expect(ended.reason).toMatch(/SHUTOFF|console closed/);
    await reachStatus(client, server.id, 'SHUTOFF');
    const refused = await WireClient.open(stale.websocketUrl);
    expect(await refused.closed).toEqual({ code: 4004, reason: 'console not available: server is SHUTOFF' });
    await expect(open('novnc')).rejects.toThrow(/console not available: server \S+ is SHUTOFF/);

    await client.servers.start.mutate({ id: server.id });
    await reachStatus(client, server.id, 'ACTIVE');
    const fresh = await open('serial');
    const ok = await WireClient.open(fresh.websocketUrl);
    ok.close();
    await deleteServer(client, server.id);
    const gone = await WireClient.open(fresh.websocketUrl);
    expect(await gone.closed).toEqual({ code: 4001, reason: 'unknown token' });
  });
});
