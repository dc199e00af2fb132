import { DEFAULT_AVAILABILITY_ZONE, powerStateName, statuses, serverStatus, type Explanation } from '@aster/compute';
import type { Queryable } from '@aster/db';
import { z } from 'zod';
import type { InstanceRow } from '../compute/instances.ts';
import { hostZoneSql } from '../scheduling/zones.ts';
import { isoDate, toIso, toIsoOrNull } from '../schemas.ts';

/** Nova's `addresses`: each port's fixed IP, then the floating IP that leads to it (`OS-EXT-IPS:type`). */
export const address = z.object({ ip: z.string(), mac: z.string(), version: z.literal(4), portId: z.string(), type: z.enum(['fixed', 'floating']) });
/** A server's port as the server page shows it. */
export const serverPort = z.object({
  id: z.string(),
  networkId: z.string(),
  networkName: z.string(),
  ip: z.string(),
  mac: z.string(),
  status: z.string(),
  securityGroups: z.array(z.object({ id: z.string(), name: z.string() })),
  floatingIp: z.object({ id: z.string(), ip: z.string() }).nullable(),
});

/** Why no host was chosen, per filter (a NoValidHost fault); tenants get it without host names. */
export const explanation = z.object({
  hosts: z.number(),
  filters: z.array(
    z.object({
      filter: z.string(),
      entered: z.number(),
      removed: z.number(),
      reasons: z.array(z.object({ reason: z.string(), count: z.number(), hosts: z.array(z.string()).optional(), mostFree: z.number().optional() })),
    }),
  ),
  claimsLost: z.number().optional(),
});

export const fault = z.object({
  code: z.number(),
  message: z.string(),
  details: z.string().nullable(),
  explanation: explanation.nullable(),
  created: isoDate,
});

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
  ports: z.array(serverPort),
  flavor: z.object({ id: z.string(), name: z.string(), vcpus: z.number(), ramMb: z.number(), diskGb: z.number() }),
  image: z.object({ id: z.string(), name: z.string() }),
  keyName: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  tags: z.array(z.string()),
  locked: z.boolean(),
  /** Who holds the lock: its project, or a cloud administrator (whom only an administrator can unlock). */
  lockedBy: z.enum(['owner', 'admin']).nullable(),
  lockedReason: z.string().nullable(),
  reservationId: z.string(),
  fault: fault.nullable(),
  host: z.string().nullable().optional(),
  /** The zone of its host once it has one, else the zone it asked for (null: any). */
  availabilityZone: z.string().nullable(),
  serverGroupId: z.string().nullable(),
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
  network_id: string;
  network_name: string;
  ip: string;
  mac: string;
  status: string;
  groups: { id: string; name: string }[];
  fip_id: string | null;
  fip_ip: string | null;
}

interface FaultRow {
  instance_id: string;
  code: number;
  message: string;
  details: string | null;
  explanation: Explanation | null;
  created_at: Date;
}

/** Where a server stands: its group, and its host's zone (null: no host, or a host in no zone aggregate). */
interface Placed {
  groupId: string | null;
  hostZone: string | null;
}

export interface Decorations {
  ports: Map<string, PortView[]>;
  faults: Map<string, FaultRow>;
  placed: Map<string, Placed>;
  /** The zone of hosts in no zone aggregate. */
  defaultZone: string;
}

/** The tenant's view of an explanation: the same counts, without host names. */
function withoutHosts(e: Explanation): Explanation {
  return { ...e, filters: e.filters.map((f) => ({ ...f, reasons: f.reasons.map(({ hosts: _hosts, ...r }) => r) })) };
}

/** Addresses, latest faults, groups and zones of many servers, read in three queries. */
export async function decorations(db: Queryable, ids: string[], defaultZone: string = DEFAULT_AVAILABILITY_ZONE): Promise<Decorations> {
  if (!ids.length) return { ports: new Map(), faults: new Map(), placed: new Map(), defaultZone };
  const [p, f, g] = await Promise.all([
    db.query<PortView>(
      `SELECT p.instance_id, p.id, p.network_id, n.name AS network_name, host(p.ip) AS ip, p.mac::text AS mac, p.status,
              ARRAY(SELECT json_build_object('id', g.id, 'name', g.name) FROM port_security_groups pg JOIN security_groups g ON g.id = pg.security_group_id
                     WHERE pg.port_id = p.id ORDER BY g.name) AS groups,
              f.id AS fip_id, host(f.floating_ip) AS fip_ip
         FROM ports p JOIN networks n ON n.id = p.network_id LEFT JOIN floating_ips f ON f.port_id = p.id
        WHERE p.instance_id = ANY($1::uuid[]) ORDER BY p.created_at`,
      [ids],
    ),
    db.query<FaultRow>(
      `SELECT DISTINCT ON (instance_id) instance_id, code, message, details, explanation, created_at
         FROM instance_faults WHERE instance_id = ANY($1::uuid[]) ORDER BY instance_id, created_at DESC, id DESC`,
      [ids],
    ),
    db.query<{ id: string; group_id: string | null; host_zone: string | null }>(
      `SELECT i.id, (SELECT m.group_id FROM server_group_members m WHERE m.instance_id = i.id) AS group_id,
              CASE WHEN i.host IS NULL THEN NULL ELSE ${hostZoneSql('i.host')} END AS host_zone
         FROM instances i WHERE i.id = ANY($1::uuid[])`,
      [ids],
    ),
  ]);
  const ports = new Map<string, PortView[]>();
  for (const r of p.rows) ports.set(r.instance_id, [...(ports.get(r.instance_id) ?? []), r]);
  return {
    ports,
    faults: new Map(f.rows.map((r) => [r.instance_id, r])),
    placed: new Map(g.rows.map((r) => [r.id, { groupId: r.group_id, hostZone: r.host_zone }])),
    defaultZone,
  };
}

export function toServer(row: InstanceRow, deco: Decorations, isAdmin: boolean): Server {
  const addresses: Server['addresses'] = {};
  for (const p of deco.ports.get(row.id) ?? []) {
    (addresses[p.network_name] ??= []).push({ ip: p.ip, mac: p.mac, version: 4, portId: p.id, type: 'fixed' });
    if (p.fip_ip) addresses[p.network_name]!.push({ ip: p.fip_ip, mac: p.mac, version: 4, portId: p.id, type: 'floating' });
  }
  const f = deco.faults.get(row.id);
  // A fault shows only while the server is in ERROR (Nova does the same); details are for administrators.
  const showFault = f && row.vm_state === 'error';
  const placed = deco.placed.get(row.id);
  const explained = showFault && f.explanation ? (isAdmin ? f.explanation : withoutHosts(f.explanation)) : null;
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
    ports: (deco.ports.get(row.id) ?? []).map((p) => ({
      id: p.id,
      networkId: p.network_id,
      networkName: p.network_name,
      ip: p.ip,
      mac: p.mac,
      status: p.status,
      securityGroups: p.groups,
      floatingIp: p.fip_id ? { id: p.fip_id, ip: p.fip_ip! } : null,
    })),
    flavor: { id: row.flavor.id, name: row.flavor.name, vcpus: row.flavor.vcpus, ramMb: row.flavor.ramMb, diskGb: row.flavor.diskGb },
    image: { id: row.image.id, name: row.image.name },
    keyName: row.key_name,
    metadata: row.metadata,
    tags: row.tags,
    locked: row.locked,
    lockedBy: row.locked_by,
    lockedReason: row.locked_reason,
    reservationId: row.reservation_id,
    fault: showFault
      ? { code: f.code, message: f.message, details: isAdmin ? f.details : null, explanation: explained, created: toIso(f.created_at) }
      : null,
    ...(isAdmin ? { host: row.host } : {}),
    availabilityZone: row.host ? (placed?.hostZone ?? deco.defaultZone) : row.availability_zone,
    serverGroupId: placed?.groupId ?? null,
    created: toIso(row.created_at),
    updated: toIso(row.updated_at),
    launchedAt: toIsoOrNull(row.launched_at),
    deletedAt: toIsoOrNull(row.deleted_at),
    changeSeq: String(row.change_seq),
  };
}

/** `defaultZone` is the configured default availability zone (ApiConfig.defaultAvailabilityZone). */
export async function toServers(db: Queryable, rows: InstanceRow[], isAdmin: boolean, defaultZone?: string): Promise<Server[]> {
  const deco = await decorations(
    db,
    rows.map((r) => r.id),
    defaultZone,
  );
  return rows.map((r) => toServer(r, deco, isAdmin));
}
