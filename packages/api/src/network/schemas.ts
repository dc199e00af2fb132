import { z } from 'zod';
import { description, id, isoDate, name } from '../schemas.ts';

// What the networking procedures take and answer (Neutron's resources, camelCased).

const ipv4 = z.string().trim().min(1, 'must be an IPv4 address').max(64, 'must be an IPv4 address');
const cidrText = z.string().trim().min(1, 'must be an IPv4 network like 192.168.1.0/24').max(64, 'must be an IPv4 network like 192.168.1.0/24');
/** Any text: a name from Neutron's world may hold what Aster's names do not (an empty name is allowed for ports). */
const portName = z.string().max(255, 'must be at most 255 characters');

export const hostRoute = z.object({ destination: cidrText, nexthop: ipv4 });

// --- subnets -----------------------------------------------------------------------------------------------
export const subnet = z.object({
  id: z.string(),
  networkId: z.string(),
  name: z.string(),
  cidr: z.string(),
  gateway: z.string().nullable(),
  allocationStart: z.string(),
  allocationEnd: z.string(),
  dnsServers: z.array(z.string()),
  hostRoutes: z.array(z.object({ destination: z.string(), nexthop: z.string() })),
  enableDhcp: z.boolean(),
  used: z.number().int(),
  available: z.number().int(),
});
export type Subnet = z.infer<typeof subnet>;

/** A subnet's settings (checked by planSubnet, so that the API and the launcher's seed say the same). */
export const subnetSettings = z.object({
  cidr: cidrText,
  /** null: a subnet without a gateway (it cannot join a router). */
  gateway: ipv4.nullable().optional(),
  allocationStart: ipv4.optional(),
  allocationEnd: ipv4.optional(),
  dnsServers: z.array(ipv4).max(5, 'at most 5 DNS servers').optional(),
  hostRoutes: z.array(hostRoute).max(20, 'at most 20 host routes').optional(),
  enableDhcp: z.boolean().optional(),
});
export const subnetCreateInput = subnetSettings.extend({ networkId: id, name: z.string().max(64, 'must be at most 64 characters').optional() });
export const subnetUpdateInput = z.object({
  id,
  name: z.string().max(64, 'must be at most 64 characters').optional(),
  gateway: ipv4.nullable().optional(),
  dnsServers: z.array(ipv4).max(5, 'at most 5 DNS servers').optional(),
  hostRoutes: z.array(hostRoute).max(20, 'at most 20 host routes').optional(),
  enableDhcp: z.boolean().optional(),
});

// --- networks ----------------------------------------------------------------------------------------------
export const network = z.object({
  id: z.string(),
  name: z.string(),
  projectId: z.string().nullable(),
  shared: z.boolean(),
  /** router:external: floating IPs and router gateways come from it. */
  external: z.boolean(),
  /** provider:physical_network; null is an overlay network. */
  physicalNetwork: z.string().nullable(),
  mtu: z.number().int(),
  adminStateUp: z.boolean(),
  description: z.string(),
  bridge: z.string().nullable(),
  subnets: z.array(subnet),
  createdAt: isoDate,
});
export type Network = z.infer<typeof network>;

// A Linux interface name: at most 15 characters, no slash or space.
export const bridge = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/, 'must be a host bridge name: up to 15 letters, digits, . _ -, starting with a letter or digit');
const physicalNetwork = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be a physical network name (a bridge mapping key): letters, digits, . _ -');
const mtu = z.number().int('must be a whole number').min(576, 'must be at least 576').max(9000, 'must be at most 9000');

export const networkCreateInput = z.object({
  name,
  description: description.optional(),
  shared: z.boolean().default(false),
  external: z.boolean().default(false),
  physicalNetwork: physicalNetwork.optional(),
  mtu: mtu.optional(),
  adminStateUp: z.boolean().default(true),
  bridge: bridge.optional(),
  /** A first subnet, made with the network (optional: subnets.create adds them later). */
  subnet: subnetSettings.optional(),
});
export const networkUpdateInput = z.object({
  id,
  name: name.optional(),
  description: description.optional(),
  shared: z.boolean().optional(),
  external: z.boolean().optional(),
  mtu: mtu.optional(),
  adminStateUp: z.boolean().optional(),
});

// --- security groups ---------------------------------------------------------------------------------------
export const directions = ['ingress', 'egress'] as const;
export const ethertypes = ['IPv4', 'IPv6'] as const;
export const securityGroupRule = z.object({
  id: z.string(),
  securityGroupId: z.string(),
  direction: z.enum(directions),
  ethertype: z.enum(ethertypes),
  /** null is any protocol; else tcp, udp, icmp or a protocol number. */
  protocol: z.string().nullable(),
  portRangeMin: z.number().int().nullable(),
  portRangeMax: z.number().int().nullable(),
  remoteIpPrefix: z.string().nullable(),
  remoteGroupId: z.string().nullable(),
  description: z.string(),
});
export type SecurityGroupRule = z.infer<typeof securityGroupRule>;
export const securityGroup = z.object({
  id: z.string(),
  projectId: z.string(),
  name: z.string(),
  description: z.string(),
  stateful: z.boolean(),
  rules: z.array(securityGroupRule),
  createdAt: isoDate,
});
export type SecurityGroup = z.infer<typeof securityGroup>;

export const securityGroupCreateInput = z.object({ name, description: description.optional(), stateful: z.boolean().default(true) });
export const securityGroupUpdateInput = z.object({ id, name: name.optional(), description: description.optional() });
const portNumber = z.number().int('must be a whole number').min(0, 'must be at least 0').max(65535, 'must be at most 65535');
export const ruleCreateInput = z.object({
  securityGroupId: id,
  direction: z.enum(directions, { error: 'must be ingress or egress' }),
  ethertype: z.enum(ethertypes, { error: 'must be IPv4 or IPv6' }).default('IPv4'),
  /** tcp, udp, icmp, any, or an IP protocol number 0–255 (as a number or text). */
  protocol: z.union([z.string().trim().max(16), z.number().int()]).nullable().optional(),
  portRangeMin: portNumber.nullable().optional(),
  portRangeMax: portNumber.nullable().optional(),
  remoteIpPrefix: z.string().trim().max(64).nullable().optional(),
  remoteGroupId: id.nullable().optional(),
  description: description.optional(),
});
export type RuleCreateInput = z.infer<typeof ruleCreateInput>;

// --- ports -------------------------------------------------------------------------------------------------
export const addressPair = z.object({ ipAddress: z.string(), macAddress: z.string().nullable() });
export const port = z.object({
  id: z.string(),
  name: z.string(),
  projectId: z.string().nullable(),
  networkId: z.string(),
  networkName: z.string(),
  /** One fixed IP per port. */
  subnetId: z.string(),
  ip: z.string(),
  macAddress: z.string(),
  deviceOwner: z.string(),
  deviceId: z.string(),
  /** The server it belongs to, for an instance's port. */
  server: z.object({ id: z.string(), name: z.string() }).nullable(),
  securityGroupIds: z.array(z.string()),
  portSecurityEnabled: z.boolean(),
  allowedAddressPairs: z.array(addressPair),
  adminStateUp: z.boolean(),
  status: z.enum(['DOWN', 'BUILD', 'ACTIVE', 'ERROR']),
  /** binding:host_id: the host it is plugged on. */
  host: z.string().nullable(),
  floatingIp: z.object({ id: z.string(), ip: z.string() }).nullable(),
  createdAt: isoDate,
});
export type Port = z.infer<typeof port>;
const macAddress = z
  .string()
  .trim()
  .regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, 'must be a MAC address like fa:16:3e:12:34:56')
  .transform((s) => s.toLowerCase());
const addressPairInput = z.object({ ipAddress: z.string().trim().min(1, 'must be an IPv4 address or network').max(64), macAddress: macAddress.optional() });
export const portCreateInput = z.object({
  networkId: id,
  name: portName.optional(),
  /** One fixed IP: a subnet of the network, and optionally the address (else the next free one). */
  fixedIp: z.object({ subnetId: id.optional(), ip: ipv4.optional() }).optional(),
  macAddress: macAddress.optional(),
  /** Ids or names of the project's groups; default: the project's `default`. */
  securityGroups: z.array(z.string().trim().min(1).max(255)).max(16, 'at most 16 security groups').optional(),
  portSecurityEnabled: z.boolean().optional(),
  allowedAddressPairs: z.array(addressPairInput).max(10, 'at most 10 allowed address pairs').optional(),
  adminStateUp: z.boolean().default(true),
});
export const portUpdateInput = z.object({
  id,
  name: portName.optional(),
  securityGroups: z.array(z.string().trim().min(1).max(255)).max(16, 'at most 16 security groups').optional(),
  portSecurityEnabled: z.boolean().optional(),
  allowedAddressPairs: z.array(addressPairInput).max(10, 'at most 10 allowed address pairs').optional(),
  adminStateUp: z.boolean().optional(),
});

// --- routers -----------------------------------------------------------------------------------------------
export const router = z.object({
  id: z.string(),
  projectId: z.string(),
  name: z.string(),
  description: z.string(),
  adminStateUp: z.boolean(),
  status: z.literal('ACTIVE'),
  externalGateway: z.object({ networkId: z.string(), networkName: z.string(), enableSnat: z.boolean(), portId: z.string().nullable(), ip: z.string().nullable() }).nullable(),
  interfaces: z.array(z.object({ portId: z.string(), subnetId: z.string(), networkId: z.string(), networkName: z.string(), cidr: z.string(), ip: z.string() })),
  routes: z.array(z.object({ destination: z.string(), nexthop: z.string() })),
  createdAt: isoDate,
});
export type Router = z.infer<typeof router>;
export const externalGatewayInput = z.object({ networkId: id, enableSnat: z.boolean().default(true) }).nullable();
export const routerCreateInput = z.object({
  name,
  description: description.optional(),
  adminStateUp: z.boolean().default(true),
  externalGateway: externalGatewayInput.optional(),
});
export const routerUpdateInput = z.object({
  id,
  name: name.optional(),
  description: description.optional(),
  adminStateUp: z.boolean().optional(),
  /** null clears the gateway. */
  externalGateway: externalGatewayInput.optional(),
  routes: z.array(hostRoute).max(50, 'at most 50 routes').optional(),
});
export const routerInterfaceInput = z.union([z.object({ routerId: id, subnetId: id }).strict(), z.object({ routerId: id, portId: id }).strict()]);

// --- floating IPs ------------------------------------------------------------------------------------------
export const floatingIp = z.object({
  id: z.string(),
  projectId: z.string(),
  floatingNetworkId: z.string(),
  floatingNetworkName: z.string(),
  floatingIp: z.string(),
  portId: z.string().nullable(),
  fixedIp: z.string().nullable(),
  routerId: z.string().nullable(),
  server: z.object({ id: z.string(), name: z.string() }).nullable(),
  status: z.enum(['ACTIVE', 'DOWN']),
  description: z.string(),
  createdAt: isoDate,
});
export type FloatingIp = z.infer<typeof floatingIp>;
export const floatingIpCreateInput = z.object({
  /** The external network (id or name). */
  floatingNetwork: z.string().trim().min(1, 'must name an external network').max(255),
  floatingIp: ipv4.optional(),
  portId: id.optional(),
  fixedIp: ipv4.optional(),
  description: description.optional(),
});
export const floatingIpUpdateInput = z.object({
  id,
  /** A port to associate with; null disassociates. */
  portId: id.nullable().optional(),
  fixedIp: ipv4.optional(),
  description: description.optional(),
});

export const listInput = z.object({ allProjects: z.boolean().default(false) }).optional();
export const byId = z.object({ id });
export const deleted = z.object({ id: z.string() });
