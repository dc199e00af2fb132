import { execFileSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { errorCode } from '@aster/client';
import { adminCredentials, signInToApi, type AsterClient } from '../helpers/api.ts';
import { consoleShows } from '../helpers/guest.ts';
import { sshPublicKey } from '../helpers/keys.ts';

/**
 * The compute API as a script drives it, against the real stack (api with scheduler, conductor and metadata
 * listener; the compute agent with libvirt): launch the tiny guest with a key pair and user data, see it come
 * up and prove from its own console that it got its address, its metadata and its user data; act on it; read
 * its history; delete it and find nothing of it left on the host.
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
        // Real guests under software emulation: a stop waits for the guest's ACPI shutdown.
        const timer = setTimeout(() => reject(new Error(`${id} did not become ${status}; last seen ${now?.status ?? 'never'}/${now?.taskState ?? ''}`)), 150_000);
        waiters.push({ id, status, after: BigInt(after.changeSeq), resolve: (s) => (clearTimeout(timer), resolve(s)) });
      }),
    close: () => sub.unsubscribe(),
  };
}

const virsh = (...args: string[]) => execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { encoding: 'utf8' });

test('a script launches the tiny guest, which proves its metadata path; acts on it; deletes it and nothing is left', async () => {
  test.setTimeout(20 * 60_000);
  const client = await signInToApi(adminCredentials());
  const image = (await client.images.list.query({})).find((i) => i.name === 'aster-tiny' && i.status === 'active');
  expect(image, 'npm start and npm test register the guest image aster-tiny').toBeDefined();
  const flavors = await client.flavors.list.query({});
  const tiny = flavors.find((f) => f.name === 'm1.tiny')!;
  const small = flavors.find((f) => f.name === 'm1.small')!;
  const keyName = `e2e-key-${Date.now()}`;
  const key = await client.keypairs.import.mutate({ name: keyName, publicKey: sshPublicKey('e2e@aster').line });

  const ramUsed = async () => (await client.hypervisors.list.query()).reduce((n, h) => n + h.ramMb.used, 0);
  const ramBefore = await ramUsed();
  const watch = watchFor(client);
  await watch.ready;
  try {
    const name = `e2e-${Date.now().toString(36)}`;
    const [server] = await client.servers.create.mutate({
      name,
      flavorId: tiny.id,
      imageId: image!.id,
      keyName,
      userData: '#!/bin/sh\necho "user data ran: $((6 * 7))"\n',
    });
    expect(server!.status).toBe('BUILD');
    const active = await watch.until(server!.id, 'ACTIVE', server!);
    const ip = active.addresses.public?.[0]?.ip;
    expect(ip).toMatch(/^192\.168\.122\./);
    expect(virsh('list', '--all', '--uuid')).toContain(server!.id);

    // The guest's own words: DHCP gave it the address, the DNAT and the agent's proxy brought it to the
    // metadata service, whose signature check let it read its own hostname, id, key and user data.
    const log = await consoleShows(client, server!.id, /aster-guest ready hostname=\S+ instance=\S+/);
    expect(log).toContain(`aster-guest ready hostname=${active.hostname ?? name} instance=${server!.id}`);
    expect(log).toContain('aster-userdata: user data ran: 42');
    expect(log).toContain(key.fingerprintMd5.replace(/^MD5:/, ''));
    expect(log).toContain('aster-guest metadata source=network url=http://169.254.169.254/openstack/latest/meta_data.json');
    expect(log).toContain(ip!);

    for (const [call, status] of [
      [() => client.servers.stop.mutate({ id: server!.id }), 'SHUTOFF'],
      [() => client.servers.start.mutate({ id: server!.id }), 'ACTIVE'],
      [() => client.servers.reboot.mutate({ id: server!.id, type: 'SOFT' }), 'ACTIVE'],
      [() => client.servers.reboot.mutate({ id: server!.id, type: 'HARD' }), 'ACTIVE'],
      [() => client.servers.pause.mutate({ id: server!.id }), 'PAUSED'],
      [() => client.servers.unpause.mutate({ id: server!.id }), 'ACTIVE'],
      [() => client.servers.suspend.mutate({ id: server!.id }), 'SUSPENDED'],
      [() => client.servers.resume.mutate({ id: server!.id }), 'ACTIVE'],
      [() => client.servers.resize.mutate({ id: server!.id, flavorId: small.id }), 'VERIFY_RESIZE'],
      [() => client.servers.revertResize.mutate({ id: server!.id }), 'ACTIVE'],
      [() => client.servers.resize.mutate({ id: server!.id, flavorId: small.id }), 'VERIFY_RESIZE'],
      [() => client.servers.confirmResize.mutate({ id: server!.id }), 'ACTIVE'],
      [() => client.servers.rescue.mutate({ id: server!.id }), 'RESCUE'],
      [() => client.servers.unrescue.mutate({ id: server!.id }), 'ACTIVE'],
    ] as const) {
      const changed = await call();
      // A confirm needs no host: it answers with the final state.
      const after = changed.status === status && changed.taskState === null ? changed : await watch.until(server!.id, status, changed);
      const power = { ACTIVE: 'RUNNING', VERIFY_RESIZE: 'RUNNING', RESCUE: 'RUNNING', PAUSED: 'PAUSED', SHUTOFF: 'SHUTDOWN', SUSPENDED: 'SUSPENDED' }[status];
      if (status === 'RESCUE') {
        // Booted from a fresh disk of its image, with its own disk beside it.
        expect(virsh('domblklist', server!.id)).toMatch(/vda\s+\S+disk\.rescue[\s\S]*vdb\s+\S+\/disk\s/);
      }
      expect(after.powerState, `${status} after ${call.toString()}`).toBe(power);
    }
    expect((await client.servers.get.query({ id: server!.id })).flavor.name).toBe('m1.small');
    expect(virsh('dominfo', server!.id)).toMatch(new RegExp(`CPU\\(s\\):\\s+${small.vcpus}`));

    // A snapshot becomes an image at once usable to boot; a rebuild from it keeps the address.
    const { imageId: snapshotId } = await client.servers.createImage.mutate({ id: server!.id, name: `${name}-snap` });
    await expect.poll(async () => (await client.images.get.query({ id: snapshotId })).status, { timeout: 120_000, intervals: [1000] }).toBe('active');
    const rebuilding = await client.servers.rebuild.mutate({ id: server!.id, imageId: snapshotId });
    const rebuilt = await watch.until(server!.id, 'ACTIVE', rebuilding);
    expect(rebuilt.addresses.public?.[0]?.ip).toBe(ip);
    expect(rebuilt.image.id).toBe(snapshotId);
    // The rebuilt guest boots from the snapshot (its console log starts afresh) and comes up with its own identity.
    await consoleShows(client, server!.id, new RegExp(`aster-guest ready hostname=\\S+ instance=${server!.id}`));

    await client.servers.lock.mutate({ id: server!.id, reason: 'e2e' });
    await client.servers.unlock.mutate({ id: server!.id });
    const history = (await client.servers.actions.query({ id: server!.id })).map((a) => a.action);
    expect(history.slice(0, 9)).toEqual(['create', 'stop', 'start', 'reboot', 'reboot', 'pause', 'unpause', 'suspend', 'resume']);
    expect(history).toEqual(expect.arrayContaining(['resize', 'revertResize', 'confirmResize', 'rescue', 'unrescue', 'createImage', 'rebuild', 'lock', 'unlock']));

    // A bad input refuses with a message that names it, and creates nothing.
    const refused = await client.servers.create.mutate({ name: 'bad', flavorId: tiny.id, imageId: image!.id, userData: 'x'.repeat(70_000) }).catch((e: unknown) => e);
    expect(errorCode(refused)).toBe('BAD_REQUEST');
    expect(String((refused as Error).message)).toContain('64 KiB');

    const deleting = await client.servers.delete.mutate({ id: server!.id });
    await watch.until(server!.id, 'DELETED', deleting);
    const gone = await client.servers.get.query({ id: server!.id }).catch((e: unknown) => e);
    expect(errorCode(gone)).toBe('NOT_FOUND');
    // Nothing of it on the host: no domain, no DHCP entry; and no allocation in placement.
    expect(virsh('list', '--all', '--uuid')).not.toContain(server!.id);
    expect(virsh('net-dumpxml', 'default')).not.toContain(`ip='${ip}'`);
    // Its lease released, so the address is free for the next guest at once (dnsmasq notes it a moment later).
    await expect.poll(() => virsh('net-dhcp-leases', 'default').includes(`${ip}/`), { timeout: 15_000 }).toBe(false);
    expect(await ramUsed()).toBe(ramBefore);
    await client.images.delete.mutate({ id: snapshotId });
  } finally {
    watch.close();
    await client.keypairs.delete.mutate({ name: keyName }).catch(() => {});
  }
});
