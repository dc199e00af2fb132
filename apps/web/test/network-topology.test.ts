import { describe, expect, it } from 'vitest';
import { ruleTraffic } from '../src/components/networking/format.ts';
import { layoutTopology, NODE_W } from '../src/components/networking/topology-layout.ts';
import type { Topology } from '../src/components/networking/types.ts';

const net = (id: string, name: string, cidr: string, external = false) => ({ id, name, external, shared: external, mine: !external, subnets: [{ id: `s-${id}`, cidr, gateway: null }] });
const topology = (): Topology =>
  ({
    networks: [net('pub', 'public', '192.168.122.0/24', true), net('b', 'back', '10.1.0.0/24'), net('a', 'front', '10.0.0.0/24')],
    routers: [
      {
        id: 'r1',
        name: 'r1',
        externalGateway: { networkId: 'pub', networkName: 'public', enableSnat: true, portId: 'gp', ip: '192.168.122.201' },
        interfaces: [{ portId: 'i1', subnetId: 's-a', networkId: 'a', networkName: 'front', cidr: '10.0.0.0/24', ip: '10.0.0.1' }],
        routes: [],
      },
    ],
    servers: [
      { id: 'v2', name: 'db', status: 'BUILD', ports: [{ id: 'p2', networkId: 'b', subnetId: 's-b', ip: '10.1.0.5', status: 'DOWN', floatingIp: null }] },
      { id: 'v1', name: 'web', status: 'ACTIVE', ports: [{ id: 'p1', networkId: 'a', subnetId: 's-a', ip: '10.0.0.5', status: 'ACTIVE', floatingIp: '192.168.122.210' }] },
    ],
    floatingIps: [],
  }) as unknown as Topology;

describe('the topology layout', () => {
  const laid = layoutTopology(topology());
  const node = (kind: string, id: string) => laid.nodes.find((n) => n.kind === kind && n.id === id)!;

  it('puts external networks, routers, networks and servers in four columns, left to right', () => {
    const xs = ['external:pub', 'router:r1', 'network:a', 'server:v1'].map((k) => node(...(k.split(':') as [string, string])).x);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    expect(new Set(xs).size).toBe(4);
    expect(laid.width).toBeGreaterThanOrEqual(node('server', 'v1').x + NODE_W);
  });

  it('orders networks by the routers that join them and servers by their network, so links run straight', () => {
    expect(node('network', 'a').y).toBeLessThan(node('network', 'b').y);
    expect(node('server', 'v1').y).toBeLessThan(node('server', 'v2').y);
  });

  it('draws the gateway, the interface and each port, a port not ACTIVE dashed, and names nodes for screen readers', () => {
    expect(laid.edges.map((e) => [e.id, e.down, e.gateway])).toEqual([
      ['gw-r1', false, true],
      ['if-i1', false, false],
      ['port-p1', false, false],
      ['port-p2', true, false],
    ]);
    expect(node('router', 'r1').label).toBe('Router r1, gateway 192.168.122.201, 1 interface');
    expect(node('server', 'v1').label).toBe('Server web, ACTIVE, floating IP 192.168.122.210');
    expect(node('server', 'v1').href).toBe('/servers/v1');
  });
});

describe('rule traffic in words', () => {
  it('says a port, a range, ICMP and any', () => {
    expect(ruleTraffic({ protocol: 'tcp', portRangeMin: 22, portRangeMax: 22 })).toBe('tcp 22');
    expect(ruleTraffic({ protocol: 'udp', portRangeMin: 8000, portRangeMax: 8080 })).toBe('udp 8000–8080');
    expect(ruleTraffic({ protocol: 'icmp', portRangeMin: null, portRangeMax: null })).toBe('icmp');
    expect(ruleTraffic({ protocol: null, portRangeMin: null, portRangeMax: null })).toBe('any');
  });
});
