import { transaction, type Pool, type PoolClient, type Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';
import { planSubnet, type SubnetPlan, type SubnetSpec } from './ipam.ts';
import { listed, plural } from '../network/common.ts';
import { insertSubnet, planWithGateway, portHolders } from '../network/subnets.ts';

/**
 * The shared network every project can boot on, as the launcher seeds it: libvirt's default NAT network.
 * libvirt's DHCP hands out .2–.254; Aster pins each port's address with a DHCP host entry, and its
 * dnsmasq answers DNS on the gateway.
 */
export const publicNetworkDefaults: Readonly<PublicNetworkOptions & { gateway: string; allocationStart: string; allocationEnd: string }> = {
  cidr: '192.168.122.0/24',
  gateway: '192.168.122.1',
  allocationStart: '192.168.122.10',
  allocationEnd: '192.168.122.254',
  dnsServers: ['192.168.122.1'],
  bridge: 'virbr0',
};

export interface PublicNetworkOptions {
  cidr: string;
  bridge: string;
  gateway?: string;
  allocationStart?: string;
  allocationEnd?: string;
  dnsServers?: readonly string[];
}

export const PUBLIC_NETWORK = 'public';

/** A network a server may be plugged into. */
export interface NetworkRef {
  id: string;
  name: string;
  projectId: string | null;
  shared: boolean;
  bridge: string | null;
}

export interface SubnetView extends Omit<SubnetPlan, 'gateway'> {
  id: string;
  networkId: string;
  name: string;
  hostRoutes: { destination: string; nexthop: string }[];
  /** Null only for a subnet written without one (every subnet made here has a gateway). */
  gateway: string | null;
  /** Ports on the subnet. */
  used: number;
  /** Free addresses left in the allocation range. */
  available: number;
}

export interface NetworkView extends NetworkRef {
  external: boolean;
  physicalNetwork: string | null;
  mtu: number;
  adminStateUp: boolean;
  description: string;
  subnets: SubnetView[];
  createdAt: Date;
}

export type NetworkRow = {
  id: string;
  name: string;
  project_id: string | null;
  shared: boolean;
  bridge: string | null;
  external: boolean;
  physical_network: string | null;
  mtu: number;
  admin_state_up: boolean;
  description: string;
  created_at: Date;
};
type SubnetRow = {
  id: string;
  name: string;
  host_routes: { destination: string; nexthop: string }[];
  network_id: string;
  cidr: string;
  gateway: string | null;
  allocation_start: string;
  allocation_end: string;
  dns_servers: string[];
  enable_dhcp: boolean;
  used: number;
  available: number;
};
const toRef = (r: NetworkRow): NetworkRef => ({ id: r.id, name: r.name, projectId: r.project_id, shared: r.shared, bridge: r.bridge });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Which networks a caller sees: its project's and the shared ones; administrators may ask for all. */
export type NetworkScope = { all: true } | { projectId: string };

/** Networks with their subnets and address usage, oldest first; `ids` narrows to those networks. */
export async function loadNetworks(db: Queryable, scope: NetworkScope, ids?: string[]): Promise<NetworkView[]> {
  const wantedIds = ids?.filter((id) => UUID.test(id));
  if (wantedIds && wantedIds.length === 0) return [];
  const { rows } = await db.query<NetworkRow>(
    `SELECT * FROM networks
      WHERE ($1::uuid IS NULL OR project_id = $1 OR shared OR external) AND ($2::uuid[] IS NULL OR id = ANY($2))
      ORDER BY created_at, name, id`,
    ['projectId' in scope ? scope.projectId : null, wantedIds ?? null],
  );
  if (rows.length === 0) return [];
  const { rows: subnets } = await db.query<SubnetRow>(
    `SELECT s.id, s.network_id, s.name, s.host_routes, s.cidr::text AS cidr, host(s.gateway) AS gateway,
            host(s.allocation_start) AS allocation_start, host(s.allocation_end) AS allocation_end,
            ARRAY(SELECT host(d.ip) FROM unnest(s.dns_servers) WITH ORDINALITY AS d(ip, i) ORDER BY d.i) AS dns_servers,
            s.enable_dhcp, u.used::int AS used,
            (s.allocation_end - s.allocation_start + 1 - u.in_range)::int AS available
       FROM subnets s,
            LATERAL (SELECT count(*) AS used,
                            count(*) FILTER (WHERE p.ip BETWEEN s.allocation_start AND s.allocation_end) AS in_range
                       FROM ports p WHERE p.subnet_id = s.id) u
      WHERE s.network_id = ANY($1::uuid[])
      ORDER BY s.created_at, s.id`,
    [rows.map((r) => r.id)],
  );
  return rows.map((r) => ({
    ...toRef(r),
    external: r.external,
    physicalNetwork: r.physical_network,
    mtu: r.mtu,
    adminStateUp: r.admin_state_up,
    description: r.description,
    createdAt: r.created_at,
    subnets: subnets
      .filter((s) => s.network_id === r.id)
      .map((s) => ({
        id: s.id,
        networkId: s.network_id,
        name: s.name,
        cidr: s.cidr,
        gateway: s.gateway,
        allocationStart: s.allocation_start,
        allocationEnd: s.allocation_end,
        dnsServers: s.dns_servers,
        hostRoutes: s.host_routes,
        enableDhcp: s.enable_dhcp,
        used: s.used,
        available: s.available,
      })),
  }));
}

// Creating networks is rare: one lock per schema keeps names unique without a unique index.
async function lockNetworkNames(client: Queryable): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':aster-network-names'))`);
}

async function insertNetwork(
  client: PoolClient,
  network: NetworkSettings & { name: string; projectId: string | null; shared: boolean; bridge: string | null },
  subnet: (Omit<SubnetPlan, 'gateway'> & { gateway: string | null }) | null,
): Promise<string> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO networks (name, project_id, shared, bridge, external, physical_network, mtu, admin_state_up, description)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [
      network.name,
      network.projectId,
      network.shared,
      network.bridge,
      network.external ?? false,
      network.physicalNetwork ?? null,
      network.mtu ?? (network.physicalNetwork ? 1500 : 1442),
      network.adminStateUp ?? true,
      network.description ?? '',
    ],
  );
  const id = rows[0]!.id;
  if (subnet) await insertSubnet(client, { id, name: network.name, projectId: network.projectId }, subnet, { hostRoutes: network.subnetHostRoutes });
  return id;
}

/** What a network is beyond its name and owner (Neutron's attributes); all optional. */
export interface NetworkSettings {
  external?: boolean | undefined;
  physicalNetwork?: string | null | undefined;
  mtu?: number | undefined;
  adminStateUp?: boolean | undefined;
  description?: string | undefined;
  subnetHostRoutes?: { destination: string; nexthop: string }[] | undefined;
}

export interface CreateNetworkInput extends NetworkSettings {
  name: string;
  projectId: string;
  shared: boolean;
  bridge: string | null;
  /** The first subnet, if any (`gateway: null` is a subnet without one). */
  subnet?: (Omit<SubnetSpec, 'gateway'> & { gateway?: string | null | undefined }) | undefined;
}

/**
 * Creates a network (with its first subnet when given) in one transaction. A name is refused when the project
 * already sees a network by that name (its own or a shared one); a shared name is refused when any project has it.
 */
export async function createNetwork(pool: Pool, input: CreateNetworkInput): Promise<NetworkView> {
  return transaction(pool, async (client) => {
    const id = await createNetworkIn(client, input);
    const [created] = await loadNetworks(client, { all: true }, [id]);
    return created!;
  });
}

/** `createNetwork` inside the caller's transaction; answers the new network's id. */
export async function createNetworkIn(client: PoolClient, input: CreateNetworkInput): Promise<string> {
  const plan = input.subnet ? planWithGateway({ ...input.subnet }) : null;
  await lockNetworkNames(client);
  const visible = input.shared || input.external;
  const { rows } = await client.query<{ name: string; shared: boolean; project_id: string | null }>(
    `SELECT name, shared OR external AS shared, project_id FROM networks
      WHERE lower(name) = lower($1) AND (project_id = $2 OR shared OR external OR $3) LIMIT 1`,
    [input.name, input.projectId, visible],
  );
  const clash = rows[0];
  if (clash) {
    const whose = clash.shared ? 'a shared network' : clash.project_id === input.projectId ? 'a network in this project' : 'a network in another project';
    throw new AsterError('Conflict', `There is already ${whose} named ${clash.name}`);
  }
  return insertNetwork(client, input, plan);
}

const isClient = (db: Queryable): db is PoolClient => typeof (db as Partial<PoolClient>).release === 'function';

/**
 * Creates the shared network `public` (no project) with one subnet unless a shared network of that name
 * exists; answers whether it created it. Bad settings are refused with the same messages as the API's.
 * On a pool it runs in its own transaction; a client must already be in one.
 */
export async function seedPublicNetwork(db: Queryable, options: PublicNetworkOptions): Promise<boolean> {
  const plan = planSubnet(options);
  const seed = async (client: Queryable) => {
    await lockNetworkNames(client);
    const { rows } = await client.query(`SELECT 1 FROM networks WHERE lower(name) = $1 AND (shared OR project_id IS NULL)`, [PUBLIC_NETWORK]);
    if (rows.length > 0) return false;
    await insertNetwork(client as PoolClient, { name: PUBLIC_NETWORK, projectId: null, shared: true, bridge: options.bridge, external: true, physicalNetwork: PUBLIC_NETWORK, mtu: 1500 }, plan);
    return true;
  };
  return isClient(db) ? seed(db) : transaction(db, seed);
}

/**
 * Deletes a network, its subnets and its metadata port, in the caller's transaction. Only its project or an
 * administrator may; a network with other ports is refused, naming what holds them. The row lock makes a
 * concurrent allocation wait or fail.
 */
export async function deleteNetworkIn(client: PoolClient, auth: { project: { id: string }; isAdmin: boolean }, id: string): Promise<NetworkRow> {
  if (!UUID.test(id)) throw new AsterError('NotFound', `Network ${id} not found`);
  const { rows } = await client.query<NetworkRow>('SELECT * FROM networks WHERE id = $1 FOR UPDATE', [id]);
  const network = rows[0];
  const mine = network?.project_id === auth.project.id;
  if (!network || (!auth.isAdmin && !mine && !network.shared && !network.external)) throw new AsterError('NotFound', `Network ${id} not found`);
  if (!auth.isAdmin && !mine) {
    throw new AsterError('Forbidden', `Network ${network.name} is shared by another project; only that project or an administrator may delete it`);
  }
  const held = await portHolders(client, 'p.network_id = $1', [id]);
  if (held.length) throw new AsterError('Conflict', `network ${network.name} has ${plural(held.length, 'port')}: ${listed(held)}`);
  await client.query(`DELETE FROM ports WHERE network_id = $1`, [id]);
  await client.query('DELETE FROM networks WHERE id = $1', [id]);
  return network;
}

/**
 * The networks a new server is plugged into. Asked-for ids must name networks the project may use (its
 * own or shared; administrators any), each once. With none asked for: the project's one network, else
 * the one shared network, else the caller must choose.
 */
export async function resolveNetworks(
  db: Queryable,
  auth: { project: { id: string }; isAdmin: boolean },
  requested: string[] | undefined,
): Promise<NetworkRef[]> {
  const asked = networksAsked(requested);
  const { rows } = await db.query<NetworkRow>(`SELECT n.* FROM networks n WHERE ${networksUsable('$1', '$2', '$3')} ORDER BY ${NETWORK_ORDER}`, [
    uuidsOnly(asked),
    auth.isAdmin,
    auth.project.id,
  ]);
  return pickNetworks(auth, asked, rows);
}

/** `networksAsked`'s answer as the query takes it: an id that is no uuid names no network. */
export const uuidsOnly = (asked: string[] | null) => asked && asked.filter((id) => UUID.test(id));

/** The network ids asked for, in lower case (null for none). */
export function networksAsked(requested: string[] | undefined): string[] | null {
  if (!requested || requested.length === 0) return null;
  return requested.map((id) => id.trim().toLowerCase());
}

/**
 * SQL condition on networks `n` for `networksAsked`'s answer in parameter `asked` (uuid[]): with ids, those of
 * them the project may use (own or shared; administrators any); without, the project's own and the shared.
 */
export const networksUsable = (asked: string, admin: string, project: string) =>
  `CASE WHEN ${asked}::uuid[] IS NULL THEN n.project_id = ${project} OR n.shared OR (n.external AND n.name = 'public' AND n.project_id IS NULL)
        ELSE n.id = ANY(${asked}::uuid[]) AND (${admin} OR n.project_id = ${project} OR n.shared) END`;
export const NETWORK_ORDER = 'n.created_at, n.name, n.id';

/** From the networks `networksUsable` found (in NETWORK_ORDER), those the server gets, or why not (one asked for twice, say). */
export function pickNetworks(auth: { project: { id: string } }, asked: string[] | null, rows: NetworkRow[]): NetworkRef[] {
  if (asked) {
    const twice = asked.find((id, i) => asked.indexOf(id) !== i);
    if (twice) throw new AsterError('InvalidInput', `networks: network ${twice} is asked for twice; a server has one port per network`);
    return asked.map((id) => {
      const found = rows.find((r) => r.id === id);
      if (!found) throw new AsterError('NotFound', `Network ${id} not found`);
      return toRef(found);
    });
  }
  // Nova's `auto`: the project's own network if it has exactly one, else `public`.
  const own = rows.filter((r) => r.project_id === auth.project.id);
  const shared = rows.filter((r) => r.project_id !== auth.project.id);
  if (own.length === 1) return [toRef(own[0]!)];
  const pub = shared.find((r) => r.name.toLowerCase() === PUBLIC_NETWORK && r.project_id === null);
  if (pub) return [toRef(pub)];
  if (own.length === 0 && shared.length === 1) return [toRef(shared[0]!)];
  if (rows.length === 0) throw new AsterError('InvalidInput', 'no network is available to this project');
  const choices = [...own, ...shared].map((r) => r.name).join(', ');
  throw new AsterError('InvalidInput', `several networks are available (${choices}); choose one with networks: [<network id>]`);
}
