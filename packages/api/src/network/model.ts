import type { Pool } from '@aster/db';
import type { NetworkModel } from '@aster/ovn';

/**
 * The whole network model, read in one snapshot (a repeatable-read transaction) with one query per kind: what
 * the network worker turns into OVN's northbound rows. Ports carry their security group ids (aggregated in SQL),
 * groups their rules, so 1,000 ports cost six statements.
 */
export async function loadNetworkModel(db: Pool): Promise<NetworkModel> {
  const client = await db.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const networks = await client.query<NetworkModel['networks'][number]>(
      `SELECT id, name, project_id AS "projectId", external, physical_network AS "physicalNetwork", mtu, admin_state_up AS "adminStateUp"
         FROM networks ORDER BY id`,
    );
    const subnets = await client.query<NetworkModel['subnets'][number]>(
      `SELECT id, network_id AS "networkId", cidr::text AS cidr, host(gateway) AS gateway, enable_dhcp AS "enableDhcp",
              ARRAY(SELECT host(d.ip) FROM unnest(dns_servers) WITH ORDINALITY AS d(ip, i) ORDER BY d.i) AS "dnsServers", host_routes AS "hostRoutes"
         FROM subnets ORDER BY id`,
    );
    const ports = await client.query<NetworkModel['ports'][number] & { pairs: { ip_address: string; mac_address?: string }[] }>(
      `SELECT p.id, p.network_id AS "networkId", p.subnet_id AS "subnetId", p.project_id AS "projectId", p.mac::text AS mac, host(p.ip) AS ip,
              p.device_owner AS "deviceOwner", p.device_id AS "deviceId", p.router_id AS "routerId", p.port_security_enabled AS "portSecurityEnabled",
              p.allowed_address_pairs AS pairs, p.admin_state_up AS "adminStateUp", p.host,
              COALESCE(g.ids, '{}') AS "securityGroupIds"
         FROM ports p LEFT JOIN (SELECT port_id, array_agg(security_group_id::text ORDER BY security_group_id) AS ids FROM port_security_groups GROUP BY port_id) g
           ON g.port_id = p.id
        ORDER BY p.id`,
    );
    const routers = await client.query<NetworkModel['routers'][number]>(
      `SELECT id, name, project_id AS "projectId", admin_state_up AS "adminStateUp", external_network_id AS "externalNetworkId",
              enable_snat AS "enableSnat", routes FROM routers ORDER BY id`,
    );
    const floatingIps = await client.query<NetworkModel['floatingIps'][number]>(
      `SELECT id, project_id AS "projectId", floating_network_id AS "floatingNetworkId", host(floating_ip) AS "floatingIp", port_id AS "portId",
              host(fixed_ip) AS "fixedIp", router_id AS "routerId" FROM floating_ips ORDER BY id`,
    );
    const groups = await client.query<NetworkModel['securityGroups'][number]>(
      `SELECT g.id, g.project_id AS "projectId", g.name, g.stateful,
              COALESCE(r.rules, '[]') AS rules
         FROM security_groups g LEFT JOIN (
           SELECT security_group_id, json_agg(json_build_object('id', id, 'direction', direction, 'ethertype', ethertype, 'protocol', protocol,
                    'portRangeMin', port_range_min, 'portRangeMax', port_range_max, 'remoteIpPrefix', remote_ip_prefix::text,
                    'remoteGroupId', remote_group_id) ORDER BY id) AS rules
             FROM security_group_rules GROUP BY security_group_id) r ON r.security_group_id = g.id
        ORDER BY g.id`,
    );
    await client.query('COMMIT');
    return {
      networks: networks.rows,
      subnets: subnets.rows,
      ports: ports.rows.map(({ pairs, ...p }) => ({ ...p, allowedAddressPairs: pairs.map((a) => ({ ipAddress: a.ip_address, macAddress: a.mac_address ?? null })) })),
      routers: routers.rows,
      floatingIps: floatingIps.rows,
      securityGroups: groups.rows,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
