import { DriverError } from '../driver.ts';
import type { PortRecord } from './domain-xml.ts';
import type { LibvirtNetwork, NetworkFacts } from './network.ts';

/** A port as far as it is known: a guest removed by hand may be known only by its MAC and address (then: external). */
type Port = Pick<PortRecord, 'mac' | 'ip'> & Partial<PortRecord>;

/** Told of each guest address plugged and unplugged on the external network (the metadata proxy's DNAT routes them). */
export interface GuestAddresses {
  add(ip: string): Promise<void>;
  remove(ip: string): Promise<void>;
}

/**
 * Told of the ports on networks that are not external as they come to and leave this host: each such network
 * needs its metadata path here (a namespace with the network's metadata port) while a guest of it runs here.
 */
export interface ProjectPorts {
  plug(instanceId: string, ports: PortRecord[]): Promise<void>;
  /** The instance's ports left this host (all of them). */
  unplug(instanceId: string): Promise<void>;
  /** At start: the ports of every guest this host has; whatever was set up for others goes. */
  adopt(guests: { instanceId: string; ports: PortRecord[] }[]): Promise<void>;
}

type Owner = { instanceId: string; projectId: string };

const isExternal = (p: Port) => p.external !== false;

/**
 * The guests' network on this host beside Open vSwitch, where OVN does not serve them: on the external network
 * (libvirt's, `public`), a DHCP host entry in libvirt's dnsmasq for each port's address and the metadata
 * proxy's route to it; on other networks, the metadata path (`ProjectPorts`). And which instance has which
 * address on which network, for the metadata proxy. Changes to the network's DHCP entries are made one at a time.
 */
export class GuestNetwork {
  private facts: NetworkFacts | null = null;
  private lock: Promise<unknown> = Promise.resolve();
  /** External guest address → instance (requests arrive by DNAT with only their address). */
  private readonly byExternalIp = new Map<string, Owner>();
  /** `<network id> <address>` → instance, on networks that are not external (addresses overlap across them). */
  private readonly byNetworkIp = new Map<string, Owner>();

  constructor(
    private readonly network: LibvirtNetwork,
    private readonly addresses?: GuestAddresses,
    private readonly projectPorts?: ProjectPorts,
  ) {}

  /** Defines (only libvirt's default, when missing) and starts the network; answers what it is. */
  async ensure(): Promise<NetworkFacts> {
    this.facts = await this.network.ensure();
    return this.facts;
  }

  /** The host side of the network (the metadata proxy listens there). */
  get host(): NetworkFacts {
    if (!this.facts) throw new DriverError('the libvirt driver is not initialised');
    return this.facts;
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.catch(() => {}).then(fn);
    this.lock = next;
    return next;
  }

  /** The instance with address `ip` on network `networkId`, or on the external network when that is null. */
  instanceAt(ip: string, networkId: string | null = null): Owner | null {
    return (networkId === null ? this.byExternalIp.get(ip) : this.byNetworkIp.get(`${networkId} ${ip}`)) ?? null;
  }

  /** Notes the instance's addresses as its own: from then on the metadata proxy knows it by them. */
  bind(instanceId: string, projectId: string, ports: Port[]): void {
    for (const p of ports) {
      if (isExternal(p)) this.byExternalIp.set(p.ip, { instanceId, projectId });
      else if (p.networkId) this.byNetworkIp.set(`${p.networkId} ${p.ip}`, { instanceId, projectId });
    }
  }

  /** A guest found running at start: its addresses are its own, and routed. */
  async adopt(instanceId: string, projectId: string, ports: Port[]): Promise<void> {
    this.bind(instanceId, projectId, ports);
    for (const p of ports) if (isExternal(p)) await this.addresses?.add(p.ip);
  }

  /** After `adopt` of every guest found at start: the project networks' metadata paths for them, and none other. */
  async adopted(guests: { instanceId: string; ports: PortRecord[] }[]): Promise<void> {
    await this.projectPorts?.adopt(guests.map((g) => ({ instanceId: g.instanceId, ports: g.ports.filter((p) => !isExternal(p)) })));
  }

  /** Reserves each external port's address for its MAC, then routes it; the other ports get their network's metadata path. */
  async plug(instanceId: string, ports: Port[]): Promise<void> {
    const external = ports.filter(isExternal);
    const project = ports.filter((p): p is PortRecord => !isExternal(p) && Boolean(p.networkId));
    const bridge = this.host.bridge;
    await Promise.all([
      (async () => {
        await this.serially(async () => {
          for (const p of external) await this.network.addHost(p.mac, p.ip, bridge);
        });
        for (const p of external) await this.addresses?.add(p.ip);
      })(),
      project.length ? this.projectPorts?.plug(instanceId, project) : undefined,
    ]);
  }

  /** Frees the instance's addresses: DHCP entries, routes and metadata paths unless `keepNetwork` (a rebuild keeps them). */
  async unplug(instanceId: string, ports: Port[], keepNetwork = false): Promise<void> {
    if (!keepNetwork) {
      const external = ports.filter(isExternal);
      await this.serially(async () => {
        for (const p of external) await this.network.removeHost(p.mac, p.ip, this.host.bridge);
      });
      for (const p of external) await this.addresses?.remove(p.ip);
      await this.projectPorts?.unplug(instanceId);
    }
    for (const map of [this.byExternalIp, this.byNetworkIp]) {
      for (const [key, owner] of map) if (owner.instanceId === instanceId) map.delete(key);
    }
  }
}
