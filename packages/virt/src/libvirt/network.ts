import { XMLParser } from 'fast-xml-parser';
import { DriverError } from '../driver.ts';
import { LibvirtError, type Virsh } from './virsh.ts';

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

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (n) => ['ip', 'host'].includes(n) });

type Attrs = Record<string, string | undefined>;
interface ParsedNetwork {
  name?: string;
  bridge?: Attrs;
  ip?: (Attrs & { dhcp?: { host?: Attrs[] } })[];
}

export function parseNetworkXml(xml: string): NetworkFacts {
  const net = (parser.parse(xml) as { network?: ParsedNetwork }).network;
  if (!net) throw new Error('not a libvirt network XML document');
  const ip = net.ip?.find((i) => !i['@family'] || i['@family'] === 'ipv4');
  const hosts = (ip?.dhcp?.host ?? []).map((h) => ({ mac: String(h['@mac'] ?? '').toLowerCase(), ip: String(h['@ip'] ?? '') }));
  return { name: String(net.name), bridge: net.bridge?.['@name'] ?? '', address: ip?.['@address'] ?? '', netmask: ip?.['@netmask'] ?? '', hosts };
}

const hostEntry = (mac: string, ip: string) => `<host mac='${mac}' ip='${ip}'/>`;

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

  /** Adds the entry; an entry for the same MAC or address that is left over from an earlier life is replaced. */
  async addHost(mac: string, ip: string): Promise<void> {
    const m = mac.toLowerCase();
    const existing = (await this.facts()).hosts.filter((h) => h.mac === m || h.ip === ip);
    if (existing.some((h) => h.mac === m && h.ip === ip)) return;
    for (const h of existing) await this.removeHost(h.mac, h.ip);
    await this.update('add-last', hostEntry(m, ip));
  }

  async removeHost(mac: string, ip: string): Promise<void> {
    const m = mac.toLowerCase();
    if (!(await this.facts()).hosts.some((h) => h.mac === m && h.ip === ip)) return;
    await this.update('delete', hostEntry(m, ip));
  }

  private async update(command: 'add-last' | 'delete', xml: string): Promise<void> {
    const info = await this.virsh.run(['net-info', this.name]);
    const live = /^Active:\s+yes/m.test(info);
    await this.virsh.run(['net-update', this.name, command, 'ip-dhcp-host', xml, ...(live ? ['--live'] : []), '--config']);
  }
}
