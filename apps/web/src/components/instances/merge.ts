import type { ListInput, Server, ServerList } from './types';

/** Whether a server belongs in a list asked for with `input` (the filters servers.list applies). */
export function matches(server: Server, input: ListInput, projectId: string): boolean {
  if (server.status === 'DELETED' || server.deletedAt) return false;
  if (!input.allProjects && server.projectId !== projectId) return false;
  if (input.status && server.status !== input.status) return false;
  if (input.name && !server.name.toLowerCase().includes(input.name.toLowerCase())) return false;
  return true;
}

function compare(a: Server, b: Server, input: ListInput): number {
  const key = input.sortKey ?? 'created';
  const order = key === 'name' ? a.name.localeCompare(b.name) : Date.parse(a.created) - Date.parse(b.created);
  return (input.sortDir ?? 'desc') === 'desc' ? -order : order;
}

/**
 * One change of a server folded into a cached page: updated in place, dropped once deleted or no longer
 * matching, inserted when new (on the first page only, where a new server sorts). Older changes than the
 * row already shows (a replay after reconnecting) are ignored.
 */
export function mergeServer(list: ServerList, server: Server, input: ListInput, projectId: string): ServerList {
  const at = list.servers.findIndex((s) => s.id === server.id);
  const known = at >= 0 ? list.servers[at] : undefined;
  if (known && BigInt(known.changeSeq) >= BigInt(server.changeSeq)) return list;
  const keep = matches(server, input, projectId);
  if (known) {
    const servers = keep ? list.servers.map((s) => (s.id === server.id ? server : s)) : list.servers.filter((s) => s.id !== server.id);
    return { ...list, servers };
  }
  if (!keep || input.marker) return list;
  return { ...list, servers: [...list.servers, server].sort((a, b) => compare(a, b, input)) };
}
