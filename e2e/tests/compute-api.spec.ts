import { expect, test } from '@playwright/test';
import { errorCode } from '@aster/client';
import { apiUrl } from '../env.ts';
import { adminCredentials, signInToApi, type AsterClient } from '../helpers/api.ts';

/**
 * The compute API as a script drives it, against the real stack (api with scheduler and conductor, and the
 * compute agent process): register an image, launch, watch it come up, act on it, read its history, delete.
 */

type Server = Awaited<ReturnType<AsterClient['servers']['get']['query']>>;

/** servers.watch over SSE: resolves when `id` is in `status` and idle, in a change after `after` (a changeSeq). */
function watchFor(client: AsterClient) {
  const last = new Map<string, Server>();
  const waiters: { id: string; status: string; after: bigint; resolve: (s: Server) => void }[] = [];
  const fits = (s: Server | undefined, id: string, status: string, after: bigint) =>
    !!s && s.id === id && s.status === status && s.taskState === null && BigInt(s.changeSeq) > after;
  let started!: () => void;
  const ready = new Promise<void>((r) => (started = r));
  const sub = client.servers.watch.subscribe(
    {},
    {
      onStarted: () => started(),
      onData: ({ data }) => {
        last.set(data.id, data);
        for (const w of [...waiters]) {
          if (fits(data, w.id, w.status, w.after)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(data);
          }
        }
      },
    },
  );
  return {
    ready,
    until: (id: string, status: string, after: Server) =>
      new Promise<Server>((resolve, reject) => {
        const now = last.get(id);
        if (fits(now, id, status, BigInt(after.changeSeq))) return resolve(now!);
        const timer = setTimeout(() => reject(new Error(`${id} did not become ${status}; last seen ${now?.status ?? 'never'}`)), 20_000);
        waiters.push({ id, status, after: BigInt(after.changeSeq), resolve: (s) => (clearTimeout(timer), resolve(s)) });
      }),
    close: () => sub.unsubscribe(),
  };
}

async function uploadImage(client: AsterClient, token: string, name: string): Promise<string> {
  const image = await client.images.create.mutate({ name, diskFormat: 'raw' });
  const bytes = Buffer.alloc(1024 * 1024, 7);
  const res = await fetch(`${apiUrl()}/v1/images/${image.id}/file`, { method: 'PUT', body: bytes, headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return image.id;
}

test('a script launches a server, watches it come up, acts on it and deletes it', async () => {
  const { login } = await import('@aster/client');
  const { token } = await login({ url: apiUrl(), ...adminCredentials() });
  const client = await signInToApi(adminCredentials());
  const imageId = await uploadImage(client, token, `e2e-image-${Date.now()}`);
  expect((await client.images.get.query({ id: imageId })).status).toBe('active');
  const tiny = (await client.flavors.list.query({})).find((f) => f.name === 'm1.tiny')!;
  expect(tiny).toMatchObject({ vcpus: 1, ramMb: 512, diskGb: 1 });

  const watch = watchFor(client);
  await watch.ready;
  try {
    const [server] = await client.servers.create.mutate({ name: `e2e-${Date.now()}`, flavorId: tiny.id, imageId });
    expect(server!.status).toBe('BUILD');
    const active = await watch.until(server!.id, 'ACTIVE', server!);
    expect(active.addresses.public?.[0]?.ip).toMatch(/^192\.168\.122\./);

    for (const [call, status] of [
      [() => client.servers.stop.mutate({ id: server!.id }), 'SHUTOFF'],
      [() => client.servers.start.mutate({ id: server!.id }), 'ACTIVE'],
      [() => client.servers.reboot.mutate({ id: server!.id, type: 'HARD' }), 'ACTIVE'],
      [() => client.servers.pause.mutate({ id: server!.id }), 'PAUSED'],
      [() => client.servers.unpause.mutate({ id: server!.id }), 'ACTIVE'],
      [() => client.servers.suspend.mutate({ id: server!.id }), 'SUSPENDED'],
      [() => client.servers.resume.mutate({ id: server!.id }), 'ACTIVE'],
    ] as const) {
      const changed = await call();
      await watch.until(server!.id, status, changed);
    }
    await client.servers.lock.mutate({ id: server!.id, reason: 'e2e' });
    await client.servers.unlock.mutate({ id: server!.id });
    const log = await client.servers.consoleLog.query({ id: server!.id, lines: 20 });
    expect(log.output).toContain('aster-guest ready');

    const history = await client.servers.actions.query({ id: server!.id });
    expect(history.map((a) => a.action)).toEqual(['create', 'stop', 'start', 'reboot', 'pause', 'unpause', 'suspend', 'resume', 'lock', 'unlock']);

    // A bad input refuses with a message that names it, and creates nothing.
    const refused = await client.servers.create.mutate({ name: 'bad', flavorId: tiny.id, imageId, userData: 'x'.repeat(70_000) }).catch((e: unknown) => e);
    expect(errorCode(refused)).toBe('BAD_REQUEST');
    expect(String((refused as Error).message)).toContain('64 KiB');

    const deleting = await client.servers.delete.mutate({ id: server!.id });
    await watch.until(server!.id, 'DELETED', deleting);
    const gone = await client.servers.get.query({ id: server!.id }).catch((e: unknown) => e);
    expect(errorCode(gone)).toBe('NOT_FOUND');
  } finally {
    watch.close();
  }
});
