// Network models for the tests: a small topology, and one at scale.
import type { NetworkModel, PortModel, SecurityGroupModel } from '../src/model.ts';

/** A uuid-shaped id from a prefix and a number. */
export const uid = (prefix: string, n: number): string => `${prefix.padEnd(8, '0').slice(0, 8)}-0000-4000-8000-${String(n).padStart(12, '0')}`;

const port = (p: Partial<PortModel> & Pick<PortModel, 'id' | 'networkId' | 'subnetId' | 'mac' | 'ip'>): PortModel => ({
  projectId: 'p1',
  deviceOwner: 'compute:nova',
  deviceId: uid('inst', 1),
  routerId: null,
  portSecurityEnabled: true,
  allowedAddressPairs: [],
  securityGroupIds: [],
  adminStateUp: true,
  host: null,
  ...p,
});

export const ids = {
  pub: uid('aaaa', 1),
  net1: uid('aaaa', 2),
  net2: uid('aaaa', 3),
  pubSub: uid('bbbb', 1),
  sub1: uid('bbbb', 2),
  sub2: uid('bbbb', 3),
  router: uid('cccc', 1),
  gwPort: uid('dddd', 1),
  if1: uid('dddd', 2),
  if2: uid('dddd', 3),
  vmA: uid('dddd', 4),
  vmB: uid('dddd', 5),
  md1: uid('dddd', 6),
  fipPort: uid('dddd', 7),
  fip: uid('eeee', 1),
  sgDefault: uid('ffff', 1),
  sgWeb: uid('ffff', 2),
  ruleSsh: uid('9999', 1),
  ruleIcmp: uid('9999', 2),
  ruleSelf: uid('9999', 3),
  ruleEgress: uid('9999', 4),
};

/** One project: two networks joined by a router with a gateway on `public`, a guest on each, a floating IP. */
export function smallModel(): NetworkModel {
  const sgDefault: SecurityGroupModel = {
    id: ids.sgDefault,
    projectId: 'p1',
    name: 'default',
    stateful: true,
    rules: [
      { id: ids.ruleSelf, direction: 'ingress', ethertype: 'IPv4', protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: ids.sgDefault },
      { id: ids.ruleEgress, direction: 'egress', ethertype: 'IPv4', protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null },
      { id: uid('9999', 5), direction: 'egress', ethertype: 'IPv6', protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null },
    ],
  };
  const sgWeb: SecurityGroupModel = {
    id: ids.sgWeb,
    projectId: 'p1',
    name: 'web',
    stateful: true,
    rules: [
      { id: ids.ruleSsh, direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: '0.0.0.0/0', remoteGroupId: null },
      { id: ids.ruleIcmp, direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', portRangeMin: 8, portRangeMax: 0, remoteIpPrefix: '192.168.122.0/24', remoteGroupId: null },
    ],
  };
  return {
    networks: [
      { id: ids.pub, name: 'public', projectId: null, external: true, physicalNetwork: 'public', mtu: 1500, adminStateUp: true },
      { id: ids.net1, name: 'net1', projectId: 'p1', external: false, physicalNetwork: null, mtu: 1442, adminStateUp: true },
      { id: ids.net2, name: 'net2', projectId: 'p1', external: false, physicalNetwork: null, mtu: 1442, adminStateUp: true },
    ],
    subnets: [
      { id: ids.pubSub, networkId: ids.pub, cidr: '192.168.122.0/24', gateway: '192.168.122.1', enableDhcp: true, dnsServers: [], hostRoutes: [] },
      { id: ids.sub1, networkId: ids.net1, cidr: '10.0.0.0/24', gateway: '10.0.0.1', enableDhcp: true, dnsServers: ['9.9.9.9', '1.1.1.1'], hostRoutes: [] },
      { id: ids.sub2, networkId: ids.net2, cidr: '10.0.1.0/24', gateway: '10.0.1.1', enableDhcp: true, dnsServers: [], hostRoutes: [{ destination: '172.16.0.0/16', nexthop: '10.0.1.254' }] },
    ],
    ports: [
      port({ id: ids.gwPort, networkId: ids.pub, subnetId: ids.pubSub, mac: 'fa:16:3e:00:00:01', ip: '192.168.122.50', deviceOwner: 'network:router_gateway', deviceId: ids.router, routerId: ids.router, portSecurityEnabled: false }),
      port({ id: ids.if1, networkId: ids.net1, subnetId: ids.sub1, mac: 'fa:16:3e:00:00:02', ip: '10.0.0.1', deviceOwner: 'network:router_interface', deviceId: ids.router, routerId: ids.router, portSecurityEnabled: false }),
      port({ id: ids.if2, networkId: ids.net2, subnetId: ids.sub2, mac: 'fa:16:3e:00:00:03', ip: '10.0.1.1', deviceOwner: 'network:router_interface', deviceId: ids.router, routerId: ids.router, portSecurityEnabled: false }),
      port({ id: ids.vmA, networkId: ids.net1, subnetId: ids.sub1, mac: 'fa:16:3e:00:00:0a', ip: '10.0.0.10', securityGroupIds: [ids.sgDefault, ids.sgWeb], allowedAddressPairs: [{ ipAddress: '10.0.0.100', macAddress: null }] }),
      port({ id: ids.vmB, networkId: ids.net2, subnetId: ids.sub2, mac: 'fa:16:3e:00:00:0b', ip: '10.0.1.10', securityGroupIds: [ids.sgDefault] }),
      port({ id: ids.md1, networkId: ids.net1, subnetId: ids.sub1, mac: 'fa:16:3e:00:00:0c', ip: '10.0.0.2', deviceOwner: 'network:distributed', deviceId: ids.net1, portSecurityEnabled: false }),
      port({ id: ids.fipPort, networkId: ids.pub, subnetId: ids.pubSub, mac: 'fa:16:3e:00:00:0d', ip: '192.168.122.60', deviceOwner: 'network:floatingip', deviceId: ids.fip, portSecurityEnabled: false }),
    ],
    routers: [{ id: ids.router, name: 'r1', projectId: 'p1', adminStateUp: true, externalNetworkId: ids.pub, enableSnat: true, routes: [] }],
    floatingIps: [{ id: ids.fip, projectId: 'p1', floatingNetworkId: ids.pub, floatingIp: '192.168.122.60', portId: ids.vmA, fixedIp: '10.0.0.10', routerId: ids.router }],
    securityGroups: [sgDefault, sgWeb],
  };
}

/** `ports` guest ports over `nets` networks (one router), every port in one of 10 groups of `rules` rules each. */
export function bigModel(ports = 1000, nets = 100, rules = 20): NetworkModel {
  const m: NetworkModel = { networks: [], subnets: [], ports: [], routers: [], floatingIps: [], securityGroups: [] };
  const router = uid('cccc', 9);
  m.routers.push({ id: router, name: 'big', projectId: 'p1', adminStateUp: true, externalNetworkId: null, enableSnat: false, routes: [] });
  for (let g = 0; g < 10; g++) {
    m.securityGroups.push({
      id: uid('5eed', g),
      projectId: 'p1',
      name: `g${g}`,
      stateful: true,
      rules: Array.from({ length: rules }, (_, r) => ({
        id: uid('7ule', g * 1000 + r),
        direction: 'ingress' as const,
        ethertype: 'IPv4' as const,
        protocol: 'tcp',
        portRangeMin: 1000 + r,
        portRangeMax: 1000 + r,
        remoteIpPrefix: `10.${r}.0.0/16`,
        remoteGroupId: null,
      })),
    });
  }
  for (let i = 0; i < nets; i++) {
    const net = uid('0e70', i);
    const sub = uid('5ab0', i);
    m.networks.push({ id: net, name: `n${i}`, projectId: 'p1', external: false, physicalNetwork: null, mtu: 1442, adminStateUp: true });
    m.subnets.push({ id: sub, networkId: net, cidr: `10.${i}.0.0/24`, gateway: `10.${i}.0.1`, enableDhcp: true, dnsServers: [], hostRoutes: [] });
    m.ports.push(port({ id: uid('1f00', i), networkId: net, subnetId: sub, mac: `fa:16:3f:00:${(i & 0xff).toString(16).padStart(2, '0')}:01`, ip: `10.${i}.0.1`, deviceOwner: 'network:router_interface', deviceId: router, routerId: router, portSecurityEnabled: false }));
  }
  for (let p = 0; p < ports; p++) {
    const i = p % nets;
    const hex = (p & 0xffff).toString(16).padStart(4, '0');
    m.ports.push(port({ id: uid('90e7', p), networkId: uid('0e70', i), subnetId: uid('5ab0', i), mac: `fa:16:3e:${(i & 0xff).toString(16).padStart(2, '0')}:${hex.slice(0, 2)}:${hex.slice(2)}`, ip: `10.${i}.0.${10 + Math.floor(p / nets)}`, securityGroupIds: [uid('5eed', p % 10)] }));
  }
  return m;
}
