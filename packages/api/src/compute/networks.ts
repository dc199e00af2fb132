import { transaction, type Pool, type PoolClient, type Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';
import { planSubnet, type SubnetPlan, type SubnetSpec } from './ipam.ts';

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
  /** Null only for a subnet written without one (every subnet made here has a gateway). */
  gateway: string | null;
  /** Ports on the subnet. */
  used: number;
  /** Free addresses left in the allocation range. */
  available: number;
}

export interface NetworkView extends NetworkRef {
  subnets: SubnetView[];
  createdAt: Date;
}

export type NetworkRow = { id: string; name: string; project_id: string | null; shared: boolean; bridge: string | null; created_at: Date };
type SubnetRow = {
  id: string;
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
    `SELECT id, name, project_id, shared, bridge, created_at FROM networks
      WHERE ($1::uuid IS NULL OR project_id = $1 OR shared) AND ($2::uuid[] IS NULL OR id = ANY($2))
      ORDER BY created_at, name, id`,
    ['projectId' in scope ? scope.projectId : null, wantedIds ?? null],
  );
  if (rows.length === 0) return [];
  const { rows: subnets } = await db.query<SubnetRow>(
    `SELECT s.id, s.network_id, s.cidr::text AS cidr, host(s.gateway) AS gateway,
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
    createdAt: r.created_at,
    subnets: subnets
      .filter((s) => s.network_id === r.id)
      .map((s) => ({
        id: s.id,
        cidr: s.cidr,
        gateway: s.gateway,
        allocationStart: s.allocation_start,
        allocationEnd: s.allocation_end,
        dnsServers: s.dns_servers,
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
  client: Queryable,
  network: { name: string; projectId: string | null; shared: boolean; bridge: string | null },
  subnet: SubnetPlan,
): Promise<string> {
  const { rows } = await client.query<{ id: string }>(
    'INSERT INTO networks (name, project_id, shared, bridge) VALUES ($1, $2, $3, $4) RETURNING id',
    [network.name, network.projectId, network.shared, network.bridge],
  );
  const id = rows[0]!.id;
  await client.query(
    `INSERT INTO subnets (network_id, cidr, gateway, allocation_start, allocation_end, dns_servers, enable_dhcp)
     VALUES ($1, $2, $3, $4, $5, $6::inet[], $7)`,
    [id, subnet.cidr, subnet.gateway, subnet.allocationStart, subnet.allocationEnd, subnet.dnsServers, subnet.enableDhcp],
  );
  return id;
}

export interface CreateNetworkInput {
  name: string;
  projectId: string;
  shared: boolean;
  bridge: string | null;
  subnet: SubnetSpec;
}

/**
 * Creates a network with its one subnet in one transaction. A name is refused when the project already
 * sees a network by that name (its own or a shared one); a shared name is refused when any project has it.
 */
export async function createNetwork(pool: Pool, input: CreateNetworkInput): Promise<NetworkView> {
  const plan = planSubnet(input.subnet);
  return transaction(pool, async (client) => {
    await lockNetworkNames(client);
    const { rows } = await client.query<{ name: string; shared: boolean; project_id: string | null }>(
      `SELECT name, shared, project_id FROM networks WHERE lower(name) = lower($1) AND (project_id = $2 OR shared OR $3) LIMIT 1`,
      [input.name, input.projectId, input.shared],
    );
    const clash = rows[0];
    if (clash) {
      const whose = clash.shared ? 'a shared network' : clash.project_id === input.projectId ? 'a network in this project' : 'a network in another project';
      throw new AsterError('Conflict', `There is already ${whose} named ${clash.name}`);
    }
    const id = await insertNetwork(client, { name: input.name, projectId: input.projectId, shared: input.shared, bridge: input.bridge }, plan);
    const [created] = await loadNetworks(client, { all: true }, [id]);
    return created!;
  });
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
    await insertNetwork(client, { name: PUBLIC_NETWORK, projectId: null, shared: true, bridge: options.bridge }, plan);
    return true;
  };
  return isClient(db) ? seed(db) : transaction(db, seed);
}

/**
 * Deletes a network and its subnets. Only its project or an administrator may; a network with ports
 * is refused, naming the servers on it. The row lock makes a concurrent allocation wait or fail.
 */
export async function deleteNetwork(pool: Pool, auth: { project: { id: string }; isAdmin: boolean }, id: string): Promise<void> {
  if (!UUID.test(id)) throw new AsterError('NotFound', `Network ${id} not found`);
  await transaction(pool, async (client) => {
    const { rows } = await client.query<NetworkRow>('SELECT * FROM networks WHERE id = $1 FOR UPDATE', [id]);
    const network = rows[0];
    const mine = network?.project_id === auth.project.id;
    if (!network || (!auth.isAdmin && !mine && !network.shared)) throw new AsterError('NotFound', `Network ${id} not found`);
    if (!auth.isAdmin && !mine) {
      throw new AsterError('Forbidden', `Network ${network.name} is shared by another project; only that project or an administrator may delete it`);
    }
    const { rows: use } = await client.query<{ ports: number; servers: string[] }>(
      `SELECT count(*)::int AS ports,
              coalesce(array_agg(DISTINCT i.name) FILTER (WHERE i.name IS NOT NULL), '{}') AS servers
         FROM ports p LEFT JOIN instances i ON i.id = p.instance_id
        WHERE p.network_id = $1`,
      [id],
    );
    const { ports, servers } = use[0]!;
    if (ports > 0) {
      const shown = servers.slice(0, 10).join(', ') + (servers.length > 10 ? `, and ${servers.length - 10} more` : '');
      const who = servers.length === 0 ? '' : ` (${servers.length === 1 ? 'server' : 'servers'} ${shown})`;
      throw new AsterError('Conflict', `network ${network.name} is in use by ${ports} ${ports === 1 ? 'port' : 'ports'}${who}`);
    }
    await client.query('DELETE FROM networks WHERE id = $1', [id]);
  });
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
  `CASE WHEN ${asked}::uuid[] IS NULL THEN n.project_id = ${project} OR n.shared
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
  const own = rows.filter((r) => r.project_id === auth.project.id);
  const shared = rows.filter((r) => r.project_id !== auth.project.id);
  if (own.length === 1) return [toRef(own[0]!)];
  if (own.length === 0 && shared.length === 1) return [toRef(shared[0]!)];
  if (rows.length === 0) throw new AsterError('InvalidInput', 'no network is available to this project');
  const choices = [...own, ...shared].map((r) => r.name).join(', ');
  throw new AsterError('InvalidInput', `several networks are available (${choices}); choose one with networks: [<network id>]`);
}
