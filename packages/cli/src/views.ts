import type { AsterClient } from '@aster/client';
import { dash, fields, table } from './output.ts';

export type Server = Awaited<ReturnType<AsterClient['servers']['get']['query']>>;

/** `public=10.0.0.5, 10.0.0.6; private=…` */
export const addresses = (s: Server) =>
  Object.entries(s.addresses)
    .map(([network, list]) => `${network}=${list.map((a) => a.ip).join(', ')}`)
    .join('; ');

export function serverTable(servers: readonly Server[]): string {
  const withHost = servers.some((s) => s.host !== undefined);
  const headers = ['ID', 'NAME', 'STATUS', 'TASK', 'POWER', 'NETWORKS', 'IMAGE', 'FLAVOR', ...(withHost ? ['HOST'] : [])];
  const rows = servers.map((s) => [
    s.id,
    s.name,
    s.status,
    dash(s.taskState),
    s.powerState,
    dash(addresses(s)),
    dash(s.image.name),
    s.flavor.name,
    ...(withHost ? [dash(s.host)] : []),
  ]);
  return table(headers, rows);
}

export function serverFields(s: Server): string {
  const flavor = `${s.flavor.name} (${s.flavor.vcpus} vCPU, ${s.flavor.ramMb} MB RAM, ${s.flavor.diskGb} GB disk)`;
  const meta = Object.entries(s.metadata).map(([k, v]) => `${k}=${v}`);
  return fields([
    ['id', s.id],
    ['name', s.name],
    ['status', s.status],
    ['task state', dash(s.taskState)],
    ['power state', s.powerState],
    ['vm state', s.vmState],
    ['flavor', flavor],
    ['image', s.image.name ? `${s.image.name} (${s.image.id})` : dash(s.image.id)],
    ['addresses', dash(addresses(s))],
    ['key name', dash(s.keyName)],
    ...(s.host !== undefined ? [['host', dash(s.host)] as const] : []),
    ['project', s.projectId],
    ['locked', s.locked ? `yes${s.lockedReason ? ` (${s.lockedReason})` : ''}` : 'no'],
    ['metadata', meta.length ? meta.join('\n') : '-'],
    ['tags', s.tags.join(', ') || '-'],
    ...(s.fault ? [['fault', `${s.fault.message}${s.fault.details ? `\n${s.fault.details}` : ''}`] as const] : []),
    ['created', s.created],
    ['launched', dash(s.launchedAt)],
    ['updated', s.updated],
  ]);
}

/** One server in detail, several as a table. */
export const serversText = (servers: readonly Server[]) => (servers.length === 1 ? serverFields(servers[0]!) : serverTable(servers));
