import type { AsterClient } from '@aster/client';
import { CliError } from './errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isId = (ref: string) => UUID.test(ref);

/**
 * The one item `ref` names, by id or exact name. None, or several of the same name, is an error that says
 * what there is to choose from.
 */
export function pick<T extends { id: string; name: string }>(kind: string, ref: string, items: readonly T[]): T {
  const byId = items.find((i) => i.id.toLowerCase() === ref.toLowerCase());
  if (byId) return byId;
  const named = items.filter((i) => i.name === ref);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) {
    throw new CliError(`${named.length} ${kind}s are named ${ref}; name one by its id: ${named.map((i) => i.id).join(', ')}`);
  }
  const names = [...new Set(items.map((i) => i.name))];
  const shown = names.slice(0, 12).join(', ') + (names.length > 12 ? `, … (${names.length} in all)` : '');
  throw new CliError(`No ${kind} named ${ref}${names.length ? `; ${kind}s: ${shown}` : `; there are no ${kind}s`}`);
}

// An id goes to the API as it is, so that an unknown one gets the API's own answer.

export async function flavorId(client: AsterClient, ref: string): Promise<string> {
  return isId(ref) ? ref : pick('flavor', ref, await client.flavors.list.query({})).id;
}

export async function imageId(client: AsterClient, ref: string): Promise<string> {
  if (isId(ref)) return ref;
  const named = await client.images.list.query({ name: ref });
  return pick('image', ref, named.length ? named : await client.images.list.query({})).id;
}

export async function networkId(client: AsterClient, ref: string): Promise<string> {
  return isId(ref) ? ref : pick('network', ref, await client.networks.list.query()).id;
}

export async function serverGroupId(client: AsterClient, ref: string): Promise<string> {
  return isId(ref) ? ref : pick('server group', ref, await client.serverGroups.list.query({})).id;
}

export async function serverId(client: AsterClient, ref: string): Promise<string> {
  if (isId(ref)) return ref;
  const { servers } = await client.servers.list.query({ name: ref, limit: 1000 });
  const exact = servers.filter((s) => s.name === ref);
  if (exact.length) return pick('server', ref, exact).id;
  throw new CliError(`No server named ${ref}${servers.length ? `; servers with ${ref} in their name: ${servers.slice(0, 12).map((s) => s.name).join(', ')}` : ''}`);
}
