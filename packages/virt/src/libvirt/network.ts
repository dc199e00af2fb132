import { readFile } from 'node:fs/promises';
import { DriverError } from '../driver.ts';
import { tool } from './disks.ts';
import { LibvirtError, type Virsh } from './virsh.ts';
import { attribute, childElement, childElements, parseXml, textOf, xmlElement } from './xml.ts';

/** libvirt's own default NAT network, as Debian defines it; created only when the host has none. */
export const DEFAULT_NETWORK_XML = `<network>
  <name>default</name>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
`;

export interface NetworkFacts {
  name: string;
  bridge: string;
  address: string;
  netmask: string;
  hosts: { mac: string; ip: string }[];
}

export function parseNetworkXml(xml: string): NetworkFacts {
  const net = parseXml(xml, 'network', 'not a libvirt network XML document').documentElement!;
  const ip = childElements(net, 'ip').find((i) => (attribute(i, 'family') ?? 'ipv4') === 'ipv4') ?? null;
  const hosts = childElements(childElement(ip, 'dhcp'), 'host').map((h) => ({ mac: (attribute(h, 'mac') ?? '').toLowerCase(), ip: attribute(h, 'ip') ?? '' }));
  return {
    name: textOf(childElement(net, 'name')) ?? '',
    bridge: attribute(childElement(net, 'bridge'), 'name') ?? '',
    address: attribute(ip, 'address') ?? '',
    netmask: attribute(ip, 'netmask') ?? '',
    hosts,
  };
}

/** The rows of `virsh net-dhcp-leases`: expiry, MAC, protocol, address/prefix, … */
export function parseLeases(out: string): { mac: string; ip: string }[] {
  const leases: { mac: string; ip: string }[] = [];
  for (const line of out.split('\n')) {
    const m = /\s((?:[0-9a-f]{2}:){5}[0-9a-f]{2})\s+ipv4\s+(\d+\.\d+\.\d+\.\d+)\//i.exec(line);
    if (m) leases.push({ mac: m[1]!.toLowerCase(), ip: m[2]! });
  }
  return leases;
}

const hostEntry = (mac: string, ip: string) => xmlElement('host', { mac, ip });

/**
 * The host's libvirt network that instances plug into, with one DHCP host entry per port (MAC → the address
 * Aster's IPAM gave), so the address the API shows is the address the guest gets.
 */
export class LibvirtNetwork {
  constructor(
    private readonly virsh: Virsh,
    readonly name: string,
  ) {}

  /** Defines (only the libvirt default, when missing) and starts the network; answers what it is. */
  async ensure(): Promise<NetworkFacts> {
    let xml: string;
    try {
      xml = await this.virsh.run(['net-dumpxml', this.name]);
    } catch (error) {
      if (!(error instanceof LibvirtError) || !error.notFound) throw error;
      if (this.name !== 'default') throw new DriverError(`libvirt network ${this.name} does not exist on this host; define it or use the default network`);
      await this.virsh.withXml(['net-define'], DEFAULT_NETWORK_XML);
      xml = await this.virsh.run(['net-dumpxml', this.name]);
    }
    const info = await this.virsh.run(['net-info', this.name]);
    if (/^Active:\s+no/m.test(info)) await this.virsh.run(['net-start', this.name]);
    if (/^Autostart:\s+no/m.test(info)) await this.virsh.run(['net-autostart', this.name]).catch(() => {});
    return parseNetworkXml(xml);
  }

  async facts(): Promise<NetworkFacts> {
    return parseNetworkXml(await this.virsh.run(['net-dumpxml', this.name]));
  }

  /**
   * Adds the entry (one libvirt call in the usual case); an entry for the same MAC or address left over from
   * an earlier life is replaced. dnsmasq keeps a lease for an hour and would not hand a reserved address to a
   * new MAC while an old guest's lease on it lasts, so such leases are released (as Neutron does).
   */
  async addHost(mac: string, ip: string, bridge: string): Promise<void> {
    const m = mac.toLowerCase();
    try {
      await this.update('add-last', hostEntry(m, ip));
    } catch (error) {
      if (!(error instanceof LibvirtError) || !/existing dhcp host entry/i.test(error.message)) throw error;
      const existing = (await this.facts()).hosts.filter((h) => h.mac === m || h.ip === ip);
      if (!existing.some((h) => h.mac === m && h.ip === ip)) {
        for (const h of existing) await this.removeHost(h.mac, h.ip, bridge);
        await this.update('add-last', hostEntry(m, ip));
      }
    }
    for (const lease of await this.leases(bridge)) {
      if ((lease.ip === ip) !== (lease.mac === m)) await this.release(bridge, lease.ip, lease.mac);
    }
  }

  async removeHost(mac: string, ip: string, bridge: string): Promise<void> {
    const m = mac.toLowerCase();
    await this.update('delete', hostEntry(m, ip)).catch((error: unknown) => {
      if (!(error instanceof LibvirtError) || !/couldn't locate a matching dhcp host entry|no.*matching/i.test(error.message)) throw error;
    });
    await this.release(bridge, ip, m);
  }

  /** dnsmasq's current leases on this network: its status file when readable, else libvirt's list. */
  async leases(bridge: string): Promise<{ mac: string; ip: string }[]> {
    try {
      const rows = JSON.parse(await readFile(`/var/lib/libvirt/dnsmasq/${bridge}.status`, 'utf8')) as { 'ip-address'?: string; 'mac-address'?: string }[];
      return rows.filter((r) => r['ip-address'] && r['mac-address']).map((r) => ({ ip: r['ip-address']!, mac: r['mac-address']!.toLowerCase() }));
    } catch {
      return parseLeases(await this.virsh.run(['net-dhcp-leases', this.name]));
    }
  }

  /** Ends a lease at once (`dhcp_release` sends dnsmasq the DHCPRELEASE the guest would have sent). */
  private async release(bridge: string, ip: string, mac: string): Promise<void> {
    await tool('dhcp_release', [bridge, ip, mac], 10_000).catch(() => {
      // No lease to release, or dhcp_release missing: the address is still reserved, only later in reuse.
    });
  }

  /** Live and persistent; the persistent definition alone when the network is not running. */
  private async update(command: 'add-last' | 'delete', xml: string): Promise<void> {
    try {
      await this.virsh.run(['net-update', this.name, command, 'ip-dhcp-host', xml, '--live', '--config']);
    } catch (error) {
      if (!(error instanceof LibvirtError) || !/not active|not running/i.test(error.message)) throw error;
      await this.virsh.run(['net-update', this.name, command, 'ip-dhcp-host', xml, '--config']);
    }
  }
}
