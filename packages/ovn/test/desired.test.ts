// desiredNb is pure: the rows for a small model, checked one kind at a time.
import { describe, expect, it } from 'vitest';
import { desiredNb, dhcpMacFor, ruleMatch, type DesiredRow } from '../src/desired.ts';
import { mapOf, setOf } from '../src/values.ts';
import { ids, smallModel } from './fixtures.ts';

const d = desiredNb(smallModel(), { cloudId: 'c1', gatewayChassis: ['host-a', 'host-b'] });
const row = (table: DesiredRow['table'], key: string): DesiredRow => {
  const r = d.rows.find((x) => x.table === table && x.key === key);
  if (!r) throw new Error(`no ${table} ${key}`);
  return r;
};

describe('desiredNb', () => {
  it('tags every row with the cloud and gives every row a unique key', () => {
    for (const r of d.rows) expect(mapOf(r.columns.external_ids)['aster-cloud']).toBe('c1');
    const keys = d.rows.map((r) => `${r.table}/${r.key}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('makes a switch per network and a localnet port for the physical one', () => {
    expect(mapOf(row('Logical_Switch', `aster-${ids.net1}`).columns.external_ids)).toMatchObject({ 'aster-network-id': ids.net1, 'aster-network-name': 'net1' });
    const ln = row('Logical_Switch_Port', `provnet-${ids.pub}`);
    expect(ln.columns).toMatchObject({ type: 'localnet', addresses: ['set', ['unknown']], options: ['map', [['network_name', 'public']]] });
    expect(ln.parent).toEqual({ table: 'Logical_Switch', key: `aster-${ids.pub}`, column: 'ports' });
  });

  it('makes guest, router, metadata ports; none for a floating IP', () => {
    const a = row('Logical_Switch_Port', ids.vmA);
    expect(a.columns).toMatchObject({ type: '', addresses: ['set', ['fa:16:3e:00:00:0a 10.0.0.10']], enabled: true });
    expect(setOf(a.columns.port_security)).toEqual(['fa:16:3e:00:00:0a 10.0.0.10 10.0.0.100']);
    expect(a.refs?.dhcpv4_options).toEqual({ table: 'DHCP_Options', keys: [`dhcp-${ids.sub1}`] });
    const rp = row('Logical_Switch_Port', ids.if1);
    expect(rp.columns).toMatchObject({ type: 'router', addresses: ['set', ['router']], options: ['map', [['router-port', `lrp-${ids.if1}`]]] });
    expect(row('Logical_Switch_Port', ids.md1).columns).toMatchObject({ type: 'localport', addresses: ['set', ['fa:16:3e:00:00:0c 10.0.0.2']] });
    expect(d.rows.some((r) => r.key === ids.fipPort)).toBe(false);
  });

  it('makes the router: ports, gateway chassis by priority, default route, SNAT per subnet, the floating IP', () => {
    expect(row('Logical_Router_Port', `lrp-${ids.gwPort}`).columns).toMatchObject({ mac: 'fa:16:3e:00:00:01', networks: ['set', ['192.168.122.50/24']] });
    expect(row('Logical_Router_Port', `lrp-${ids.if2}`).columns.networks).toEqual(['set', ['10.0.1.1/24']]);
    expect(row('Gateway_Chassis', `lrp-${ids.gwPort}_host-a`).columns).toMatchObject({ chassis_name: 'host-a', priority: 2 });
    expect(row('Gateway_Chassis', `lrp-${ids.gwPort}_host-b`).columns).toMatchObject({ priority: 1 });
    expect(row('Logical_Router_Static_Route', `route-${ids.router}-default`).columns).toMatchObject({ ip_prefix: '0.0.0.0/0', nexthop: '192.168.122.1' });
    const snats = d.rows.filter((r) => r.table === 'NAT' && r.columns.type === 'snat').map((r) => r.columns.logical_ip);
    expect(snats.sort()).toEqual(['10.0.0.0/24', '10.0.1.0/24']);
    expect(row('NAT', `fip-${ids.fip}`).columns).toMatchObject({
      type: 'dnat_and_snat',
      external_ip: '192.168.122.60',
      logical_ip: '10.0.0.10',
      logical_port: ['set', [ids.vmA]],
      external_mac: ['set', ['fa:16:3e:00:00:0a']],
    });
  });

  it('makes port groups with ACLs for IPv4 rules, and the drop group', () => {
    const pg = `pg_${ids.sgDefault.replace(/-/g, '_')}`;
    expect(row('Port_Group', pg).refs?.ports?.keys.sort()).toEqual([ids.vmA, ids.vmB].sort());
    const acls = d.rows.filter((r) => r.table === 'ACL' && r.parent?.key === pg);
    expect(acls).toHaveLength(2); // the IPv6 rule has none
    expect(row('ACL', `rule-${ids.ruleSelf}`).columns).toMatchObject({ direction: 'to-lport', priority: 1002, action: 'allow-related', match: `outport == @${pg} && ip4 && ip4.src == $${pg}_ip4` });
    expect(row('ACL', `rule-${ids.ruleEgress}`).columns).toMatchObject({ direction: 'from-lport', match: `inport == @${pg} && ip4` });
    const web = `pg_${ids.sgWeb.replace(/-/g, '_')}`;
    expect(row('ACL', `rule-${ids.ruleSsh}`).columns.match).toBe(`outport == @${web} && ip4 && tcp && tcp.dst == 22`);
    expect(row('ACL', `rule-${ids.ruleIcmp}`).columns.match).toBe(`outport == @${web} && ip4 && ip4.src == 192.168.122.0/24 && icmp4 && icmp4.type == 8 && icmp4.code == 0`);
    expect(row('Port_Group', 'aster_drop_c1').refs?.ports?.keys.sort()).toEqual([ids.vmA, ids.vmB].sort());
    expect(row('ACL', 'aster_drop_c1-drop-to').columns).toMatchObject({ priority: 1001, action: 'drop', match: 'outport == @aster_drop_c1 && ip' });
    expect(row('ACL', 'aster_drop_c1-dhcp-reply').columns).toMatchObject({ priority: 1002, direction: 'to-lport', match: 'outport == @aster_drop_c1 && ip4 && udp.src == 67 && udp.dst == 68' });
  });

  it('writes a port range, and egress to a remote group', () => {
    expect(ruleMatch('pg_x', { id: 'r', direction: 'egress', ethertype: 'IPv4', protocol: 'udp', portRangeMin: 1000, portRangeMax: 2000, remoteIpPrefix: null, remoteGroupId: 'a-b' })).toBe(
      'inport == @pg_x && ip4 && ip4.dst == $pg_a_b_ip4 && udp && udp.dst >= 1000 && udp.dst <= 2000',
    );
    expect(ruleMatch('pg_x', { id: 'r', direction: 'egress', ethertype: 'IPv4', protocol: '47', portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null })).toBe('inport == @pg_x && ip4 && ip.proto == 47');
  });

  it('makes DHCP options for project subnets only, with metadata and host routes', () => {
    expect(d.rows.some((r) => r.key === `dhcp-${ids.pubSub}`)).toBe(false);
    expect(mapOf(row('DHCP_Options', `dhcp-${ids.sub1}`).columns.options)).toEqual({
      server_id: '10.0.0.1',
      server_mac: dhcpMacFor('c1'),
      lease_time: '43200',
      router: '10.0.0.1',
      mtu: '1442',
      dns_server: '{9.9.9.9, 1.1.1.1}',
      classless_static_route: '{169.254.169.254/32,10.0.0.2, 0.0.0.0/0,10.0.0.1}',
    });
    expect(mapOf(row('DHCP_Options', `dhcp-${ids.sub2}`).columns.options).classless_static_route).toBe('{172.16.0.0/16,10.0.1.254, 0.0.0.0/0,10.0.1.1}');
    expect(dhcpMacFor('c1')).toMatch(/^02(:[0-9a-f]{2}){5}$/);
  });
});
