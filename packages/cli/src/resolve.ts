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

export async function securityGroupId(client: AsterClient, ref: string): Promise<string> {
  return isId(ref) ? ref : pick('security group', ref, await client.securityGroups.list.query()).id;
}

export async function routerId(client: AsterClient, ref: string): Promise<string> {
  return isId(ref) ? ref : pick('router', ref, await client.routers.list.query()).id;
}

/** Ports are often unnamed: a port is named by its id, its name, or its fixed IP. */
export async function portId(client: AsterClient, ref: string): Promise<string> {
  if (isId(ref)) return ref;
  const ports = await client.ports.list.query();
  const byIp = ports.filter((p) => p.ip === ref);
  if (byIp.length === 1) return byIp[0]!.id;
  return pick('port', ref, ports.filter((p) => p.name !== '')).id;
}

/** A floating IP by its id or its address. */
export async function floatingIpOf(client: AsterClient, ref: string): Promise<{ id: string; floatingIp: string }> {
  if (isId(ref)) return client.floatingIps.get.query({ id: ref });
  const fips = await client.floatingIps.list.query();
  const found = fips.find((f) => f.floatingIp === ref);
  if (found) return found;
  throw new CliError(`No floating IP ${ref}${fips.length ? `; floating IPs: ${fips.map((f) => f.floatingIp).join(', ')}` : '; the project has no floating IPs'}`);
}

interface SubnetLike {
  id: string;
  name: string;
  cidr: string;
  networkId: string;
}

/**
 * The subnet `ref` names: its id or name; else its CIDR when one subnet has it; else a network's name when that
 * network has exactly one subnet (a network's first subnet is unnamed).
 */
export function pickSubnet(ref: string, subnets: readonly SubnetLike[], networks: readonly { id: string; name: string }[]): SubnetLike {
  const named = subnets.filter((s) => s.id.toLowerCase() === ref.toLowerCase() || (s.name !== '' && s.name === ref));
  if (named.length) return pick('subnet', ref, named);
  const byCidr = subnets.filter((s) => s.cidr === ref);
  if (byCidr.length === 1) return byCidr[0]!;
  if (byCidr.length > 1) throw new CliError(`${byCidr.length} subnets have CIDR ${ref}; name one by its id: ${byCidr.map((s) => s.id).join(', ')}`);
  const nets = networks.filter((n) => n.name === ref);
  if (nets.length === 1) {
    const on = subnets.filter((s) => s.networkId === nets[0]!.id);
    if (on.length === 1) return on[0]!;
    if (on.length > 1) throw new CliError(`Network ${ref} has ${on.length} subnets; name one: ${on.map((s) => s.name || s.cidr).join(', ')}`);
    throw new CliError(`Network ${ref} has no subnet`);
  }
  return pick('subnet', ref, subnets.map((s) => ({ ...s, name: s.name || s.cidr })));
}

export async function subnetId(client: AsterClient, ref: string): Promise<string> {
  if (isId(ref)) return ref;
  const [subnets, networks] = await Promise.all([client.subnets.list.query(), client.networks.list.query()]);
  return pickSubnet(ref, subnets, networks).id;
}

/** A server or a port, by id or name: what a floating IP is associated with. */
export async function serverOrPort(client: AsterClient, ref: string): Promise<{ server: string } | { port: string }> {
  if (isId(ref)) {
    const server = await client.servers.get.query({ id: ref }).catch(() => null);
    return server ? { server: server.id } : { port: ref };
  }
  const [{ servers }, ports] = await Promise.all([client.servers.list.query({ name: ref, limit: 1000 }), client.ports.list.query()]);
  const matches = [
    ...servers.filter((s) => s.name === ref).map((s) => ({ server: s.id }) as const),
    ...ports.filter((p) => (p.name !== '' && p.name === ref) || p.ip === ref).map((p) => ({ port: p.id }) as const),
  ];
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new CliError(`${matches.length} servers and ports are named ${ref}; name one by its id: ${matches.map((m) => ('server' in m ? m.server : m.port)).join(', ')}`);
  throw new CliError(`No server or port named ${ref}`);
}
