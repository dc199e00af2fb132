import { expect } from '@playwright/test';
import type { AsterClient } from './api.ts';

export type Server = Awaited<ReturnType<AsterClient['servers']['get']['query']>>;

/** Polls the console log until `pattern` shows up; answers the log. */
export async function consoleShows(client: AsterClient, id: string, pattern: RegExp, timeoutMs = 150_000): Promise<string> {
  let output = '';
  await expect
    .poll(
      async () => {
        output = (await client.servers.consoleLog.query({ id })).output;
        return pattern.test(output);
      },
      { timeout: timeoutMs, intervals: [1000] },
    )
    .toBe(true);
  return output;
}

/** Polls until the server is in `status` and idle (real guests under software emulation are slow). */
export async function reachStatus(client: AsterClient, id: string, status: string, timeoutMs = 150_000): Promise<Server> {
  let last: Server | undefined;
  await expect
    .poll(
      async () => {
        last = await client.servers.get.query({ id });
        return `${last.status}/${last.taskState ?? ''}`;
      },
      { timeout: timeoutMs, intervals: [250, 500, 1000] },
    )
    .toBe(`${status}/`);
  return last!;
}

/**
 * Launches aster-tiny on m1.tiny and waits until the guest has said it is ready on its console (so its
 * screen, its shell on the serial port and its metadata are all there).
 */
export async function launchTinyGuest(client: AsterClient, name: string): Promise<Server> {
  const image = (await client.images.list.query({})).find((i) => i.name === 'aster-tiny' && i.status === 'active');
  expect(image, 'npm start and npm test register the guest image aster-tiny').toBeDefined();
  const tiny = (await client.flavors.list.query({})).find((f) => f.name === 'm1.tiny')!;
  const [created] = await client.servers.create.mutate({ name, flavorId: tiny.id, imageId: image!.id });
  const active = await reachStatus(client, created!.id, 'ACTIVE');
  await consoleShows(client, created!.id, /aster-guest ready hostname=\S+ instance=\S+/);
  return active;
}

/** Deletes the server and waits until it is gone, so nothing of it is left for the next test. */
export async function deleteServer(client: AsterClient, id: string): Promise<void> {
  await client.servers.delete.mutate({ id }).catch(() => undefined);
  await expect
    .poll(async () => client.servers.get.query({ id }).then((s) => s.status, () => 'gone'), { timeout: 120_000, intervals: [500, 1000] })
    .toBe('gone');
}
