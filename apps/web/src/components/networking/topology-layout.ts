import type { Topology } from './types';

export type NodeKind = 'external' | 'router' | 'network' | 'server';

export interface LaidNode {
  kind: NodeKind;
  id: string;
  name: string;
  /** The second line: CIDRs, the gateway's address, the status. */
  detail: string;
  /** Floating IPs shown on a server. */
  floating: string[];
  /** What a screen reader says for it. */
  label: string;
  href: string;
  x: number;
  y: number;
  bad?: boolean;
}

export interface LaidEdge {
  id: string;
  from: LaidNode;
  to: LaidNode;
  label: string;
  /** A port that is not ACTIVE (not bound yet, or down) is drawn dashed. */
  down: boolean;
  gateway: boolean;
  /** Said in the list of connections. */
  text: string;
}

export const NODE_W = 200;
export const NODE_H = 58;
const COL_GAP = 130;
const ROW_GAP = 22;
const TOP = 44;
const LEFT = 16;

export const COLUMNS: { kind: NodeKind; title: string }[] = [
  { kind: 'external', title: 'External networks' },
  { kind: 'router', title: 'Routers' },
  { kind: 'network', title: 'Networks' },
  { kind: 'server', title: 'Servers' },
];

const colX = (i: number) => LEFT + i * (NODE_W + COL_GAP);
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
const BAD = new Set(['ERROR', 'DELETED', 'SHUTOFF']);

/**
 * Places the topology in four columns, left to right: external networks, routers, networks, servers; every
 * link joins neighbouring columns. Networks follow the routers that join them and servers follow their first
 * network, so that most links run straight across.
 */
export function layoutTopology(t: Topology): { nodes: LaidNode[]; edges: LaidEdge[]; width: number; height: number } {
  const externals = t.networks.filter((n) => n.external);
  const internals = t.networks.filter((n) => !n.external);
  const routerIndex = (networkId: string) => {
    const i = t.routers.findIndex((r) => r.interfaces.some((f) => f.networkId === networkId));
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  const networks = [...internals].sort((a, b) => routerIndex(a.id) - routerIndex(b.id));
  const networkIndex = (id: string) => networks.findIndex((n) => n.id === id);
  const firstNet = (s: Topology['servers'][number]) => {
    const at = s.ports.map((p) => networkIndex(p.networkId)).filter((i) => i >= 0);
    return at.length ? Math.min(...at) : Number.MAX_SAFE_INTEGER;
  };
  const servers = [...t.servers].sort((a, b) => firstNet(a) - firstNet(b));

  const place = (col: number, row: number) => ({ x: colX(col), y: TOP + row * (NODE_H + ROW_GAP) });
  const cidrs = (n: Topology['networks'][number]) => n.subnets.map((s) => s.cidr).join(', ') || 'no subnet';

  const ext = externals.map<LaidNode>((n, i) => ({
    kind: 'external',
    id: n.id,
    name: n.name,
    detail: cidrs(n),
    floating: [],
    label: `External network ${n.name}, ${cidrs(n)}`,
    href: `/networks/${n.id}`,
    ...place(0, i),
  }));
  const rtr = t.routers.map<LaidNode>((r, i) => {
    const gw = r.externalGateway ? `gateway ${r.externalGateway.ip ?? 'on ' + r.externalGateway.networkName}` : 'no gateway';
    return {
      kind: 'router',
      id: r.id,
      name: r.name,
      detail: gw,
      floating: [],
      label: `Router ${r.name}, ${gw}, ${plural(r.interfaces.length, 'interface')}`,
      href: `/routers/${r.id}`,
      ...place(1, i),
    };
  });
  const net = networks.map<LaidNode>((n, i) => ({
    kind: 'network',
    id: n.id,
    name: n.name,
    detail: cidrs(n),
    floating: [],
    label: `Network ${n.name}${n.shared && !n.mine ? ' (shared)' : ''}, ${cidrs(n)}`,
    href: `/networks/${n.id}`,
    ...place(2, i),
  }));
  const srv = servers.map<LaidNode>((s, i) => {
    const floating = s.ports.map((p) => p.floatingIp).filter((ip): ip is string => ip !== null);
    return {
      kind: 'server',
      id: s.id,
      name: s.name,
      detail: s.status,
      floating,
      label: `Server ${s.name}, ${s.status}${floating.length ? `, floating IP ${floating.join(', ')}` : ''}`,
      href: `/servers/${s.id}`,
      bad: BAD.has(s.status),
      ...place(3, i),
    };
  });

  const byId = new Map([...ext, ...net].map((n) => [n.id, n]));
  const edges: LaidEdge[] = [];
  t.routers.forEach((r, i) => {
    const router = rtr[i]!;
    const gw = r.externalGateway;
    const external = gw ? byId.get(gw.networkId) : undefined;
    if (gw && external) {
      edges.push({
        id: `gw-${r.id}`,
        from: external,
        to: router,
        label: gw.ip ?? '',
        down: false,
        gateway: true,
        text: `Router ${r.name} has its gateway on ${external.name}${gw.ip ? ` at ${gw.ip}` : ''}${gw.enableSnat ? ', with SNAT' : ''}`,
      });
    }
    for (const f of r.interfaces) {
      const network = byId.get(f.networkId);
      if (!network || network.kind !== 'network') continue;
      edges.push({ id: `if-${f.portId}`, from: router, to: network, label: f.ip, down: false, gateway: false, text: `Router ${r.name} has an interface on ${f.networkName} (${f.cidr}) at ${f.ip}` });
    }
  });
  servers.forEach((s, i) => {
    const server = srv[i]!;
    for (const p of s.ports) {
      const network = byId.get(p.networkId);
      if (!network) continue;
      const external = network.kind === 'external';
      edges.push({
        // A server on an external network directly: its link crosses the routers' column.
        id: `port-${p.id}`,
        from: network,
        to: server,
        label: p.ip,
        down: p.status !== 'ACTIVE',
        gateway: external,
        text: `Server ${s.name} is on ${network.name} at ${p.ip} (port ${p.status})${p.floatingIp ? `, floating IP ${p.floatingIp}` : ''}`,
      });
    }
  });

  const rows = Math.max(1, ext.length, rtr.length, net.length, srv.length);
  return {
    nodes: [...ext, ...rtr, ...net, ...srv],
    edges,
    width: colX(COLUMNS.length - 1) + NODE_W + LEFT,
    height: TOP + rows * (NODE_H + ROW_GAP) + 8,
  };
}

export const columnX = colX;
