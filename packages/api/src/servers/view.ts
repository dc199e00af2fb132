import { powerStateName, statuses, serverStatus } from '@aster/compute';
import type { Queryable } from '@aster/db';
import { z } from 'zod';
import type { InstanceRow } from '../compute/instances.ts';
import { isoDate, toIso, toIsoOrNull } from '../schemas.ts';

export const address = z.object({ ip: z.string(), mac: z.string(), version: z.literal(4), portId: z.string() });

export const fault = z.object({ code: z.number(), message: z.string(), details: z.string().nullable(), created: isoDate });

/** A server as the API shows it (Nova's server view, camelCased). `host` is there for administrators only. */
export const server = z.object({
  id: z.string(),
  name: z.string(),
  hostname: z.string(),
  status: z.enum(statuses),
  vmState: z.string(),
  taskState: z.string().nullable(),
  powerState: z.string(),
  projectId: z.string(),
  userId: z.string().nullable(),
  addresses: z.record(z.string(), z.array(address)),
  flavor: z.object({ id: z.string(), name: z.string(), vcpus: z.number(), ramMb: z.number(), diskGb: z.number() }),
  image: z.object({ id: z.string(), name: z.string() }),
  keyName: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  tags: z.array(z.string()),
  locked: z.boolean(),
  lockedReason: z.string().nullable(),
  reservationId: z.string(),
  fault: fault.nullable(),
  host: z.string().nullable().optional(),
  created: isoDate,
  updated: isoDate,
  launchedAt: isoDate.nullable(),
  deletedAt: isoDate.nullable(),
  changeSeq: z.string(),
});
export type Server = z.infer<typeof server>;

interface PortView {
  instance_id: string;
  id: string;
  network_name: string;
  ip: string;
  mac: string;
}

interface FaultRow {
  instance_id: string;
  code: number;
  message: string;
  details: string | null;
  created_at: Date;
}

/** Addresses and latest faults of many servers, read in two queries. */
export async function decorations(db: Queryable, ids: string[]) {
  if (!ids.length) return { ports: new Map<string, PortView[]>(), faults: new Map<string, FaultRow>() };
  const [p, f] = await Promise.all([
    db.query<PortView>(
      `SELECT p.instance_id, p.id, n.name AS network_name, host(p.ip) AS ip, p.mac::text AS mac
         FROM ports p JOIN networks n ON n.id = p.network_id WHERE p.instance_id = ANY($1::uuid[]) ORDER BY p.created_at`,
      [ids],
    ),
    db.query<FaultRow>(
      `SELECT DISTINCT ON (instance_id) instance_id, code, message, details, created_at
         FROM instance_faults WHERE instance_id = ANY($1::uuid[]) ORDER BY instance_id, created_at DESC, id DESC`,
      [ids],
    ),
  ]);
  const ports = new Map<string, PortView[]>();
  for (const r of p.rows) ports.set(r.instance_id, [...(ports.get(r.instance_id) ?? []), r]);
  return { ports, faults: new Map(f.rows.map((r) => [r.instance_id, r])) };
}

export function toServer(row: InstanceRow, deco: Awaited<ReturnType<typeof decorations>>, isAdmin: boolean): Server {
  const addresses: Server['addresses'] = {};
  for (const p of deco.ports.get(row.id) ?? []) {
    (addresses[p.network_name] ??= []).push({ ip: p.ip, mac: p.mac, version: 4, portId: p.id });
  }
  const f = deco.faults.get(row.id);
  // A fault shows only while the server is in ERROR (Nova does the same); details are for administrators.
  const showFault = f && row.vm_state === 'error';
  return {
    id: row.id,
    name: row.name,
    hostname: row.hostname,
    status: serverStatus(row.vm_state, row.task_state),
    vmState: row.vm_state,
    taskState: row.task_state,
    powerState: powerStateName(row.power_state),
    projectId: row.project_id,
    userId: row.user_id,
    addresses,
    flavor: { id: row.flavor.id, name: row.flavor.name, vcpus: row.flavor.vcpus, ramMb: row.flavor.ramMb, diskGb: row.flavor.diskGb },
    image: { id: row.image.id, name: row.image.name },
    keyName: row.key_name,
    metadata: row.metadata,
    tags: row.tags,
    locked: row.locked,
    lockedReason: row.locked_reason,
    reservationId: row.reservation_id,
    fault: showFault ? { code: f.code, message: f.message, details: isAdmin ? f.details : null, created: toIso(f.created_at) } : null,
    ...(isAdmin ? { host: row.host } : {}),
    created: toIso(row.created_at),
    updated: toIso(row.updated_at),
    launchedAt: toIsoOrNull(row.launched_at),
    deletedAt: toIsoOrNull(row.deleted_at),
    changeSeq: String(row.change_seq),
  };
}

export async function toServers(db: Queryable, rows: InstanceRow[], isAdmin: boolean): Promise<Server[]> {
  const deco = await decorations(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => toServer(r, deco, isAdmin));
}
