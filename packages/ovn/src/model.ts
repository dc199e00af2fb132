/**
 * Aster's network model as OVN needs it: plain data read from Postgres (by the network worker) and turned into
 * the northbound database's rows by this package. Ids are Aster's uuids; addresses are dotted IPv4 strings,
 * networks CIDR strings ("10.0.0.0/24"), MACs lower case "fa:16:3e:…".
 */

export interface NetworkModel {
  networks: NetModel[];
  subnets: SubnetModel[];
  ports: PortModel[];
  routers: RouterModel[];
  floatingIps: FloatingIpModel[];
  securityGroups: SecurityGroupModel[];
}

export interface NetModel {
  id: string;
  name: string;
  projectId: string | null;
  /** router:external: floating IPs and router gateways come from it. */
  external: boolean;
  /** The physical network (OVN localnet `network_name`, a host's `ovn-bridge-mappings` key); null is overlay. */
  physicalNetwork: string | null;
  mtu: number;
  adminStateUp: boolean;
}

export interface SubnetModel {
  id: string;
  networkId: string;
  cidr: string;
  gateway: string | null;
  enableDhcp: boolean;
  dnsServers: string[];
  hostRoutes: { destination: string; nexthop: string }[];
}

export type DeviceOwner =
  | ''
  | 'network:router_interface'
  | 'network:router_gateway'
  | 'network:floatingip'
  | 'network:distributed'
  | `compute:${string}`;

export interface PortModel {
  id: string;
  networkId: string;
  subnetId: string;
  projectId: string | null;
  mac: string;
  ip: string;
  deviceOwner: DeviceOwner;
  /** The instance id for compute ports, the router id for router ports. */
  deviceId: string;
  /** Router ports: the router they belong to. */
  routerId: string | null;
  portSecurityEnabled: boolean;
  allowedAddressPairs: { ipAddress: string; macAddress: string | null }[];
  securityGroupIds: string[];
  adminStateUp: boolean;
  /** binding:host_id: the host (chassis hostname) it is plugged on, if any. */
  host: string | null;
}

export interface RouterModel {
  id: string;
  name: string;
  projectId: string;
  adminStateUp: boolean;
  /** The external network of its gateway port (the port itself is a PortModel with deviceOwner router_gateway). */
  externalNetworkId: string | null;
  enableSnat: boolean;
  routes: { destination: string; nexthop: string }[];
}

export interface FloatingIpModel {
  id: string;
  projectId: string;
  floatingNetworkId: string;
  floatingIp: string;
  /** Associated: the port, its address, and the router doing the NAT; all null when not. */
  portId: string | null;
  fixedIp: string | null;
  routerId: string | null;
}

export interface SecurityGroupRuleModel {
  id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** null is any; else 'tcp', 'udp', 'icmp' or an IP protocol number as text. */
  protocol: string | null;
  /** For tcp/udp the destination port range; for icmp min is the type and max the code. */
  portRangeMin: number | null;
  portRangeMax: number | null;
  remoteIpPrefix: string | null;
  remoteGroupId: string | null;
}

export interface SecurityGroupModel {
  id: string;
  projectId: string;
  name: string;
  stateful: boolean;
  rules: SecurityGroupRuleModel[];
}
