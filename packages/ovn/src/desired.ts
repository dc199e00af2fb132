/**
 * The northbound rows Aster wants for a network model: pure, keyed by stable names so that the reconcile can
 * match them to what NB holds. IPv4 only: IPv6 security group rules are left out.
 */
import { createHash } from 'node:crypto';
import type { NetworkModel, PortModel, SecurityGroupRuleModel, SubnetModel } from './model.ts';
import { map, set, type OvsdbValue } from './values.ts';

export type NbTable =
  | 'Logical_Switch'
  | 'Logical_Switch_Port'
  | 'Logical_Router'
  | 'Logical_Router_Port'
  | 'Logical_Router_Static_Route'
  | 'NAT'
  | 'Gateway_Chassis'
  | 'Port_Group'
  | 'ACL'
  | 'DHCP_Options';

/** Tables whose rows are known by their `name`; the others by `external_ids:aster-key`. */
export const NAMED_TABLES: ReadonlySet<NbTable> = new Set([
  'Logical_Switch',
  'Logical_Switch_Port',
  'Logical_Router',
  'Logical_Router_Port',
  'Gateway_Chassis',
  'Port_Group',
]);

/** Non-root tables: a row lives only while its parent's column refers to it. */
export const PARENT_COLUMNS: readonly { child: NbTable; parent: NbTable; column: string }[] = [
  { child: 'Logical_Switch_Port', parent: 'Logical_Switch', column: 'ports' },
  { child: 'Logical_Router_Port', parent: 'Logical_Router', column: 'ports' },
  { child: 'Logical_Router_Static_Route', parent: 'Logical_Router', column: 'static_routes' },
  { child: 'NAT', parent: 'Logical_Router', column: 'nat' },
  { child: 'Gateway_Chassis', parent: 'Logical_Router_Port', column: 'gateway_chassis' },
  { child: 'ACL', parent: 'Port_Group', column: 'acls' },
];

export interface DesiredRow {
  table: NbTable;
  /** Its identity: the name in named tables, else `external_ids:aster-key` (also set in `columns`). */
  key: string;
  /** In words, for reports: "logical switch port 5f0c…". */
  what: string;
  /** Plain columns with their whole values (the reconcile compares and writes exactly these). */
  columns: Record<string, OvsdbValue>;
  /** Reference columns, by the keys of other desired rows (written whole). */
  refs?: Record<string, { table: NbTable; keys: string[] }>;
  /** Non-root rows: the parent row (by key) whose column holds it. */
  parent?: { table: NbTable; key: string; column: string };
}

export interface DesiredNb {
  cloudId: string;
  rows: DesiredRow[];
}

export interface DesiredOptions {
  cloudId: string;
  /** The drop port group's name; default `aster_drop_<cloudId>`. */
  dropPortGroup?: string;
  /** Chassis that may host routers' gateway ports, by priority (first highest); none: no Gateway_Chassis rows. */
  gatewayChassis?: string[];
  /** The MAC that OVN's DHCP answers from; default a locally administered MAC derived from the cloud id. */
  dhcpServerMac?: string;
}

/** A name usable in OVN's match language: letters, digits and `_`. */
const ident = (s: string): string => s.replace(/[^A-Za-z0-9_]/g, '_');
export const switchName = (networkId: string): string => `aster-${networkId}`;
export const routerName = (routerId: string): string => `aster-${routerId}`;
export const routerPortName = (portId: string): string => `lrp-${portId}`;
export const localnetPortName = (networkId: string): string => `provnet-${networkId}`;
export const portGroupName = (groupId: string): string => `pg_${ident(groupId)}`;
export const dropPortGroupName = (cloudId: string): string => `aster_drop_${ident(cloudId)}`;
const short = (id: string): string => id.slice(0, 8) + '…';

/** 02:xx:…: locally administered, unicast, stable per cloud. */
export function dhcpMacFor(cloudId: string): string {
  const h = createHash('sha256').update(`aster-dhcp-${cloudId}`).digest();
  return ['02', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

const prefixLen = (cidr: string): string => cidr.split('/')[1] ?? '32';

/** The match of one security group rule (IPv4), or null for a rule OVN gets no ACL for (IPv6). */
export function ruleMatch(pg: string, rule: SecurityGroupRuleModel): string | null {
  if (rule.ethertype !== 'IPv4') return null;
  const ingress = rule.direction === 'ingress';
  const parts = [ingress ? `outport == @${pg}` : `inport == @${pg}`, 'ip4'];
  const remote = ingress ? 'ip4.src' : 'ip4.dst';
  if (rule.remoteIpPrefix && rule.remoteIpPrefix !== '0.0.0.0/0') parts.push(`${remote} == ${rule.remoteIpPrefix}`);
  if (rule.remoteGroupId) parts.push(`${remote} == $${portGroupName(rule.remoteGroupId)}_ip4`);
  const proto = rule.protocol?.toLowerCase() ?? null;
  if (proto === 'tcp' || proto === 'udp' || proto === 'sctp') {
    parts.push(proto);
    const { portRangeMin: lo, portRangeMax: hi } = rule;
    if (lo !== null && hi !== null && lo === hi) parts.push(`${proto}.dst == ${lo}`);
    else {
      if (lo !== null) parts.push(`${proto}.dst >= ${lo}`);
      if (hi !== null) parts.push(`${proto}.dst <= ${hi}`);
    }
  } else if (proto === 'icmp') {
    parts.push('icmp4');
    if (rule.portRangeMin !== null) parts.push(`icmp4.type == ${rule.portRangeMin}`);
    if (rule.portRangeMax !== null) parts.push(`icmp4.code == ${rule.portRangeMax}`);
  } else if (proto !== null && /^\d+$/.test(proto)) {
    parts.push(`ip.proto == ${proto}`);
  }
  return parts.join(' && ');
}

/** port_security entries: "MAC IP [IP…]" for the port's MAC with its pairs of that MAC, one entry per other MAC. */
function portSecurity(port: PortModel): string[] {
  const byMac = new Map<string, string[]>([[port.mac, [port.ip]]]);
  for (const pair of port.allowedAddressPairs) {
    const mac = pair.macAddress ?? port.mac;
    byMac.set(mac, [...(byMac.get(mac) ?? []), pair.ipAddress]);
  }
  return [...byMac].map(([mac, ips]) => [mac, ...ips].join(' '));
}

const isVmPort = (p: PortModel): boolean => p.deviceOwner === '' || p.deviceOwner.startsWith('compute:');

export function desiredNb(model: NetworkModel, opts: DesiredOptions): DesiredNb {
  const { cloudId } = opts;
  const rows: DesiredRow[] = [];
  const tag = (ids: Record<string, string>) => map({ 'aster-cloud': cloudId, ...ids });
  const networks = new Map(model.networks.map((n) => [n.id, n]));
  const subnets = new Map(model.subnets.map((s) => [s.id, s]));
  const dhcpKey = (s: SubnetModel) => `dhcp-${s.id}`;
  const dhcpSubnets = new Set<string>();
  const dropPg = opts.dropPortGroup ?? dropPortGroupName(cloudId);
  const serverMac = opts.dhcpServerMac ?? dhcpMacFor(cloudId);

  // Switches, and the localnet port of each network on a physical network.
  for (const n of model.networks) {
    rows.push({
      table: 'Logical_Switch',
      key: switchName(n.id),
      what: `logical switch ${switchName(n.id)} (network ${n.name})`,
      columns: {
        name: switchName(n.id),
        external_ids: tag({ 'aster-network-id': n.id, 'aster-network-name': n.name, 'aster-mtu': String(n.mtu) }),
      },
    });
    if (n.physicalNetwork) {
      const name = localnetPortName(n.id);
      rows.push({
        table: 'Logical_Switch_Port',
        key: name,
        what: `localnet port ${name}`,
        columns: {
          name,
          type: 'localnet',
          addresses: set(['unknown']),
          options: map({ network_name: n.physicalNetwork }),
          external_ids: tag({ 'aster-network-id': n.id }),
        },
        parent: { table: 'Logical_Switch', key: switchName(n.id), column: 'ports' },
      });
    }
  }

  // DHCP options for each DHCP subnet with a gateway on a project (non-external) network.
  for (const s of model.subnets) {
    const n = networks.get(s.networkId);
    if (!n || n.external || !s.enableDhcp || !s.gateway) continue;
    dhcpSubnets.add(s.id);
    const options: Record<string, string> = {
      server_id: s.gateway,
      server_mac: serverMac,
      lease_time: '43200',
      router: s.gateway,
      mtu: String(n.mtu),
    };
    if (s.dnsServers.length) options.dns_server = `{${s.dnsServers.join(', ')}}`;
    const md = model.ports.find((p) => p.deviceOwner === 'network:distributed' && p.subnetId === s.id);
    const routes = [
      ...(md ? [`169.254.169.254/32,${md.ip}`] : []),
      ...s.hostRoutes.map((r) => `${r.destination},${r.nexthop}`),
    ];
    if (routes.length) options.classless_static_route = `{${[...routes, `0.0.0.0/0,${s.gateway}`].join(', ')}}`;
    rows.push({
      table: 'DHCP_Options',
      key: dhcpKey(s),
      what: `DHCP options of subnet ${s.cidr} (${short(s.id)})`,
      columns: { cidr: s.cidr, options: map(options), external_ids: tag({ 'aster-subnet-id': s.id, 'aster-key': dhcpKey(s) }) },
    });
  }

  // Switch ports.
  const sgPorts = new Map<string, string[]>();
  const dropPorts: string[] = [];
  for (const p of model.ports) {
    if (p.deviceOwner === 'network:floatingip' || !networks.has(p.networkId)) continue;
    const parent = { table: 'Logical_Switch' as const, key: switchName(p.networkId), column: 'ports' };
    const ids = tag({ 'aster-port-id': p.id, 'aster-network-id': p.networkId, 'aster-device-owner': p.deviceOwner });
    const base = { table: 'Logical_Switch_Port' as const, key: p.id, parent };
    if (p.deviceOwner === 'network:router_interface' || p.deviceOwner === 'network:router_gateway') {
      const options: Record<string, string> = { 'router-port': routerPortName(p.id) };
      if (p.deviceOwner === 'network:router_gateway') options['nat-addresses'] = 'router';
      rows.push({
        ...base,
        what: `router port ${short(p.id)} on switch`,
        columns: { name: p.id, type: 'router', addresses: set(['router']), port_security: set([]), options: map(options), enabled: true, external_ids: ids },
        refs: { dhcpv4_options: { table: 'DHCP_Options', keys: [] } },
      });
    } else if (p.deviceOwner === 'network:distributed') {
      rows.push({
        ...base,
        what: `metadata port ${short(p.id)}`,
        columns: { name: p.id, type: 'localport', addresses: set([`${p.mac} ${p.ip}`]), port_security: set([]), options: map({}), enabled: true, external_ids: ids },
        refs: { dhcpv4_options: { table: 'DHCP_Options', keys: [] } },
      });
    } else if (isVmPort(p)) {
      const subnet = subnets.get(p.subnetId);
      rows.push({
        ...base,
        what: `logical switch port ${short(p.id)}`,
        columns: {
          name: p.id,
          type: '',
          addresses: set([`${p.mac} ${p.ip}`]),
          port_security: set(p.portSecurityEnabled ? portSecurity(p) : []),
          options: map({}),
          enabled: p.adminStateUp,
          external_ids: ids,
        },
        refs: { dhcpv4_options: { table: 'DHCP_Options', keys: subnet && dhcpSubnets.has(subnet.id) ? [dhcpKey(subnet)] : [] } },
      });
      if (p.portSecurityEnabled) {
        dropPorts.push(p.id);
        for (const g of p.securityGroupIds) sgPorts.set(g, [...(sgPorts.get(g) ?? []), p.id]);
      }
    }
  }

  // Routers: gateway and interface ports, static routes, NAT.
  for (const r of model.routers) {
    const lr = routerName(r.id);
    rows.push({
      table: 'Logical_Router',
      key: lr,
      what: `logical router ${lr} (router ${r.name})`,
      columns: { name: lr, enabled: r.adminStateUp, external_ids: tag({ 'aster-router-id': r.id, 'aster-router-name': r.name }) },
    });
    const parent = { table: 'Logical_Router' as const, key: lr };
    const mine = model.ports.filter((p) => (p.routerId ?? p.deviceId) === r.id);
    const gw = mine.find((p) => p.deviceOwner === 'network:router_gateway' && r.externalNetworkId !== null);
    const ifaces = mine.filter((p) => p.deviceOwner === 'network:router_interface');
    for (const p of [...(gw ? [gw] : []), ...ifaces]) {
      const sn = subnets.get(p.subnetId);
      if (!sn) continue;
      const name = routerPortName(p.id);
      rows.push({
        table: 'Logical_Router_Port',
        key: name,
        what: `router port ${name} of ${lr}`,
        columns: { name, mac: p.mac, networks: set([`${p.ip}/${prefixLen(sn.cidr)}`]), external_ids: tag({ 'aster-port-id': p.id, 'aster-router-id': r.id }) },
        parent: { ...parent, column: 'ports' },
      });
      if (p === gw) {
        (opts.gatewayChassis ?? []).forEach((chassis, i, all) => {
          const gcName = `${name}_${chassis}`;
          rows.push({
            table: 'Gateway_Chassis',
            key: gcName,
            what: `gateway chassis ${chassis} of ${name}`,
            columns: { name: gcName, chassis_name: chassis, priority: all.length - i, external_ids: tag({ 'aster-port-id': p.id }) },
            parent: { table: 'Logical_Router_Port', key: name, column: 'gateway_chassis' },
          });
        });
      }
    }
    const routes: { destination: string; nexthop: string; key: string }[] = [];
    const gwSubnet = gw ? subnets.get(gw.subnetId) : undefined;
    if (gwSubnet?.gateway) routes.push({ destination: '0.0.0.0/0', nexthop: gwSubnet.gateway, key: `route-${r.id}-default` });
    for (const rt of r.routes) routes.push({ ...rt, key: `route-${r.id}-${rt.destination}-${rt.nexthop}` });
    for (const rt of routes) {
      rows.push({
        table: 'Logical_Router_Static_Route',
        key: rt.key,
        what: `route ${rt.destination} via ${rt.nexthop} on ${lr}`,
        columns: { ip_prefix: rt.destination, nexthop: rt.nexthop, external_ids: tag({ 'aster-router-id': r.id, 'aster-key': rt.key }) },
        parent: { ...parent, column: 'static_routes' },
      });
    }
    if (gw && r.enableSnat) {
      for (const p of ifaces) {
        const sn = subnets.get(p.subnetId);
        if (!sn) continue;
        const key = `snat-${r.id}-${sn.id}`;
        rows.push({
          table: 'NAT',
          key,
          what: `SNAT of ${sn.cidr} to ${gw.ip} on ${lr}`,
          columns: { type: 'snat', logical_ip: sn.cidr, external_ip: gw.ip, external_ids: tag({ 'aster-router-id': r.id, 'aster-subnet-id': sn.id, 'aster-key': key }) },
          parent: { ...parent, column: 'nat' },
        });
      }
    }
  }
  const portsById = new Map(model.ports.map((p) => [p.id, p]));
  const routerIds = new Set(model.routers.map((r) => r.id));
  for (const f of model.floatingIps) {
    if (!f.portId || !f.fixedIp || !f.routerId || !routerIds.has(f.routerId)) continue;
    const port = portsById.get(f.portId);
    const key = `fip-${f.id}`;
    rows.push({
      table: 'NAT',
      key,
      what: `floating IP ${f.floatingIp} → ${f.fixedIp} on ${routerName(f.routerId)}`,
      columns: {
        type: 'dnat_and_snat',
        external_ip: f.floatingIp,
        logical_ip: f.fixedIp,
        logical_port: set([f.portId]),
        external_mac: set(port ? [port.mac] : []),
        external_ids: tag({ 'aster-floating-ip-id': f.id, 'aster-port-id': f.portId, 'aster-key': key }),
      },
      parent: { table: 'Logical_Router', key: routerName(f.routerId), column: 'nat' },
    });
  }

  // Security groups: a port group each with its rules' ACLs, and the cloud's drop group.
  for (const g of model.securityGroups) {
    const pg = portGroupName(g.id);
    rows.push({
      table: 'Port_Group',
      key: pg,
      what: `port group ${pg} (security group ${g.name})`,
      columns: { name: pg, external_ids: tag({ 'aster-security-group-id': g.id, 'aster-security-group-name': g.name }) },
      refs: { ports: { table: 'Logical_Switch_Port', keys: sgPorts.get(g.id) ?? [] } },
    });
    for (const rule of g.rules) {
      const match = ruleMatch(pg, rule);
      if (!match) continue;
      const key = `rule-${rule.id}`;
      rows.push({
        table: 'ACL',
        key,
        what: `ACL of rule ${short(rule.id)} on ${pg}`,
        columns: {
          direction: rule.direction === 'ingress' ? 'to-lport' : 'from-lport',
          priority: 1002,
          match,
          action: g.stateful ? 'allow-related' : 'allow-stateless',
          external_ids: tag({ 'aster-security-group-id': g.id, 'aster-rule-id': rule.id, 'aster-key': key }),
        },
        parent: { table: 'Port_Group', key: pg, column: 'acls' },
      });
    }
  }
  rows.push({
    table: 'Port_Group',
    key: dropPg,
    what: `drop port group ${dropPg}`,
    columns: { name: dropPg, external_ids: tag({}) },
    refs: { ports: { table: 'Logical_Switch_Port', keys: dropPorts } },
  });
  const dropAcls: [string, 'from-lport' | 'to-lport', number, string, string][] = [
    ['drop-from', 'from-lport', 1001, `inport == @${dropPg} && ip`, 'drop'],
    ['drop-to', 'to-lport', 1001, `outport == @${dropPg} && ip`, 'drop'],
    ['dhcp-request', 'from-lport', 1002, `inport == @${dropPg} && ip4 && ip4.dst == {255.255.255.255, 0.0.0.0/8} && udp.src == 68 && udp.dst == 67`, 'allow'],
    ['dhcp-reply', 'to-lport', 1002, `outport == @${dropPg} && ip4 && udp.src == 67 && udp.dst == 68`, 'allow'],
  ];
  for (const [name, direction, priority, match, action] of dropAcls) {
    const key = `${dropPg}-${name}`;
    rows.push({
      table: 'ACL',
      key,
      what: `ACL ${name} on ${dropPg}`,
      columns: { direction, priority, match, action, external_ids: tag({ 'aster-key': key }) },
      parent: { table: 'Port_Group', key: dropPg, column: 'acls' },
    });
  }
  return { cloudId, rows };
}
