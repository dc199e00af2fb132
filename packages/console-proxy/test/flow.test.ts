import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { useTestDatabase } from '@aster/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, issueToken, seedInstance, startProxy, startTarget, until, type RunningProxy } from './fixtures.ts';

const db = useTestDatabase();
const MiB = 1024 * 1024;
let proxy: RunningProxy;

beforeAll(async () => {
  proxy = await startProxy(db.pool);
});
afterAll(async () => {
  await proxy?.stop();
});

/**
 * Writes `total` bytes as fast as the socket takes them, counting what it accepted. Every MiB differs (random,
 * numbered), so a reused buffer or a chunk out of order changes the hash.
 */
function push(socket: Socket, total: number, state: { written: number; finished: boolean; hash: ReturnType<typeof createHash> }) {
  const base = randomBytes(MiB);
  let index = 0;
  const more = () => {
    while (state.written < total) {
      const block = Buffer.from(base);
      block.writeUInt32BE(index++, (index * 4099) % (MiB - 4));
      const chunk = block.subarray(0, Math.min(block.length, total - state.written));
      state.written += chunk.length;
      state.hash.update(chunk);
      if (!socket.write(chunk)) {
        socket.once('drain', more);
        return;
      }
    }
    state.finished = true;
    socket.end();
  };
  more();
}

describe('flow control', () => {
  it('holds a target that outruns a client that stopped reading, and loses nothing', async () => {
    const total = 256 * MiB;
    const state = { written: 0, finished: false, hash: createHash('sha256') };
    const target = await startTarget((socket) => push(socket, total, state));
    try {
      const token = await issueToken(db.pool, await seedInstance(db.pool), target.port);
      const client = connectClient(`${proxy.url}/?token=${token}`, ['binary'], {}, false);
      const received = createHash('sha256');
      client.ws.on('message', (data: Buffer) => received.update(data));
      await client.opened;
      client.ws.pause();
      // Let the target run until it can write no more.
      let last = -1;
      await until(async () => {
        await new Promise((r) => setTimeout(r, 300));
        const stalled = state.written === last;
        last = state.written;
        return stalled;
      }, 'the target to stall');
      const ahead = state.written - client.receivedBytes();
      process.stderr.write(`target stalled ${(ahead / MiB).toFixed(1)} MiB ahead of the paused client\n`);
      // Kernel socket buffers on the three hops hold some MiB; the proxy itself holds at most ~1 MiB.
      expect(state.finished).toBe(false);
      expect(ahead).toBeLessThan(24 * MiB);
      client.ws.resume();
      const closed = await client.closed;
      expect(closed).toEqual({ code: 1000, reason: 'console closed by the server' });
      expect(client.receivedBytes()).toBe(total);
      expect(received.digest('hex')).toBe(state.hash.digest('hex'));
    } finally {
      await target.close();
    }
  }, 120_000);

  it('keeps bursts and small writes whole and in order', async () => {
    const pieces = Array.from({ length: 60 }, (_, i) => randomBytes(i % 3 === 0 ? 300 * 1024 + i : i % 3 === 1 ? 10 + i : 5000 + i));
    const expected = Buffer.concat(pieces);
    const target = await startTarget((socket) => {
      let i = 0;
      const next = () => {
        const piece = pieces[i++];
        if (!piece) return void socket.end();
        socket.write(piece);
        setTimeout(next, i % 5 === 0 ? 5 : 0);
      };
      next();
    });
    try {
      const token = await issueToken(db.pool, await seedInstance(db.pool), target.port);
      const client = connectClient(`${proxy.url}/?token=${token}`);
      await client.opened;
      client.ws.pause(); // let a queue build up, so buffers are handed over while others are read into
      await new Promise((r) => setTimeout(r, 300));
      client.ws.resume();
      await client.closed;
      expect(client.received().equals(expected)).toBe(true);
    } finally {
      await target.close();
    }
  });

  it('holds a client that outruns a target that stopped reading', async () => {
    let targetSocket: Socket | undefined;
    let got = 0;
    const target = await startTarget((socket) => {
      targetSocket = socket;
      socket.pause();
      socket.on('data', (d) => (got += d.length));
    });
    try {
      const token = await issueToken(db.pool, await seedInstance(db.pool), target.port);
      const client = connectClient(`${proxy.url}/?token=${token}`);
      await client.opened;
      await until(() => targetSocket !== undefined, 'the target connection');
      const message = Buffer.alloc(64 * 1024, 1);
      const total = 128 * MiB;
      for (let sent = 0; sent < total; sent += message.length) client.ws.send(message);
      let last = -1;
      await until(async () => {
        await new Promise((r) => setTimeout(r, 300));
        const stalled = client.ws.bufferedAmount === last;
        last = client.ws.bufferedAmount;
        return stalled;
      }, 'the client to stall');
      // What the client could not hand over stays with it: the proxy took only what kernel buffers hold.
      const taken = total - client.ws.bufferedAmount;
      process.stderr.write(`proxy and kernel took ${(taken / MiB).toFixed(1)} MiB from a client whose target stopped reading\n`);
      expect(taken).toBeLessThan(24 * MiB);
      targetSocket!.resume();
      await until(() => got === total, 'every byte at the target', 60_000);
      client.ws.close();
      await client.closed;
    } finally {
      await target.close();
    }
  }, 120_000);
});

describe('endings', () => {
  it('the target ending closes with 1000 after its last bytes', async () => {
    const target = await startTarget((socket) => socket.end('bye'));
    try {
      const token = await issueToken(db.pool, await seedInstance(db.pool), target.port);
      const client = connectClient(`${proxy.url}/?token=${token}`);
      expect(await client.closed).toEqual({ code: 1000, reason: 'console closed by the server' });
      expect(client.received().toString()).toBe('bye');
      await until(() => proxy.logs.some((l) => l.msg === 'console session ended' && l.bytesToClient === 3), 'the log line');
      expect(proxy.logs.findLast((l) => l.msg === 'console session ended')).toMatchObject({ code: 1000, endedBy: 'target', bytesToClient: 3 });
    } finally {
      await target.close();
    }
  });

  it('says the server stopped when that is why its console ended', async () => {
    const seeded = await seedInstance(db.pool);
    const target = await startTarget((socket) => {
      // The guest powers off: its state is recorded, then QEMU's console socket closes.
      void db.pool.query(`UPDATE instances SET vm_state = 'stopped', power_state = 4 WHERE id = $1`, [seeded.instanceId]).then(() => socket.end());
    });
    try {
      const token = await issueToken(db.pool, seeded, target.port);
      const client = connectClient(`${proxy.url}/?token=${token}`);
      expect(await client.closed).toEqual({ code: 1000, reason: 'console closed: server is SHUTOFF' });
    } finally {
      await target.close();
    }
  });

  it('says a task is under way when the console ends before the state is recorded', async () => {
    const seeded = await seedInstance(db.pool);
    const target = await startTarget((socket) => {
      void db.pool.query(`UPDATE instances SET task_state = 'powering_off' WHERE id = $1`, [seeded.instanceId]).then(() => socket.end());
    });
    try {
      const token = await issueToken(db.pool, seeded, target.port);
      const client = connectClient(`${proxy.url}/?token=${token}`);
      expect(await client.closed).toEqual({ code: 1000, reason: 'console closed: server is busy powering off' });
    } finally {
      await target.close();
    }
  });

  it('closes at expiry with 4008 when asked to', async () => {
    const expiring = await startProxy(db.pool, { closeAtExpiry: true });
    const target = await startTarget();
    try {
      const token = await issueToken(db.pool, await seedInstance(db.pool), target.port, { expiresInMs: 1500 });
      const client = connectClient(`${expiring.url}/?token=${token}`);
      await client.opened;
      const opened = Date.now();
      expect(await client.closed).toEqual({ code: 4008, reason: 'token expired' });
      expect(Date.now() - opened).toBeGreaterThan(1000);
      await until(() => target.sockets[0]?.destroyed === true || target.sockets[0]?.readableEnded === true, 'the target connection to end');
      await until(() => expiring.logs.some((l) => l.msg === 'console session ended'), 'the log line');
      expect(expiring.logs.findLast((l) => l.msg === 'console session ended')).toMatchObject({ code: 4008, endedBy: 'proxy' });
    } finally {
      await expiring.stop();
      await target.close();
    }
  });

  it('keeps a session past its token expiry by default', async () => {
    const target = await startTarget();
    try {
      const token = await issueToken(db.pool, await seedInstance(db.pool), target.port, { expiresInMs: 500 });
      const client = connectClient(`${proxy.url}/?token=${token}`);
      await client.opened;
      await new Promise((r) => setTimeout(r, 800));
      client.ws.send(Buffer.from('still here'));
      await until(() => client.receivedBytes() === 10, 'the echo');
      client.ws.close();
      await client.closed;
    } finally {
      await target.close();
    }
  });

  it('stop() closes every session with 1001 and refuses new ones', async () => {
    const stopping = await startProxy(db.pool);
    const target = await startTarget();
    try {
      const token = await issueToken(db.pool, await seedInstance(db.pool), target.port);
      const clients = [0, 1, 2].map(() => connectClient(`${stopping.url}/?token=${token}`));
      await Promise.all(clients.map((c) => c.opened));
      await until(() => stopping.proxy.sessions() === 3, 'three sessions');
      await stopping.proxy.stop();
      for (const c of clients) expect(await c.closed).toEqual({ code: 1001, reason: 'proxy shutting down' });
      expect(stopping.proxy.sessions()).toBe(0);
    } finally {
      await stopping.stop();
      await target.close();
    }
  });

  it('cuts a client that stops answering pings', async () => {
    const pinging = await startProxy(db.pool, { pingIntervalMs: 250 });
    const target = await startTarget();
    try {
      const token = await issueToken(db.pool, await seedInstance(db.pool), target.port);
      const client = connectClient(`${pinging.url}/?token=${token}`);
      await client.opened;
      // An answering client survives many intervals.
      await new Promise((r) => setTimeout(r, 1250));
      expect(pinging.proxy.sessions()).toBe(1);
      client.ws.pause(); // reads nothing more, so answers no ping
      await until(() => pinging.proxy.sessions() === 0, 'the silent client to be cut', 5000);
      expect(pinging.logs.findLast((l) => l.msg === 'console session ended')).toMatchObject({ reason: 'no answer to pings', endedBy: 'proxy' });
      client.ws.terminate();
    } finally {
      await pinging.stop();
      await target.close();
    }
  });
});
