import type { Port, SecurityGroupRule } from './types';

/** "tcp 22", "tcp 8000–8080", "icmp", "any". */
export function ruleTraffic(r: Pick<SecurityGroupRule, 'protocol' | 'portRangeMin' | 'portRangeMax'>): string {
  const protocol = r.protocol ?? 'any';
  if (r.portRangeMin === null && r.portRangeMax === null) return protocol;
  if (protocol === 'icmp') return `icmp type ${r.portRangeMin ?? 'any'}${r.portRangeMax !== null ? ` code ${r.portRangeMax}` : ''}`;
  return r.portRangeMin === r.portRangeMax || r.portRangeMax === null ? `${protocol} ${r.portRangeMin}` : `${protocol} ${r.portRangeMin}–${r.portRangeMax}`;
}

/** What a port is for, in words: its server, a router's interface or gateway, DHCP or metadata. */
export function portOwner(p: Pick<Port, 'deviceOwner' | 'server'>): string {
  if (p.server) return p.server.name;
  if (p.deviceOwner === 'network:router_interface') return 'router interface';
  if (p.deviceOwner === 'network:router_gateway') return 'router gateway';
  if (p.deviceOwner === 'network:floatingip') return 'floating IP';
  if (p.deviceOwner === 'network:distributed') return 'metadata';
  if (p.deviceOwner === 'network:dhcp') return 'DHCP';
  return p.deviceOwner || 'unattached';
}
