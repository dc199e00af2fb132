import { DriverError } from '../driver.ts';
import type { LibvirtNetwork, NetworkFacts } from './network.ts';

type Port = { mac: string; ip: string };

/** Told of each guest address plugged and unplugged (the metadata proxy routes them). */
export interface GuestAddresses {
  add(ip: string): Promise<void>;
  remove(ip: string): Promise<void>;
}

/**
 * The guests' side of the host's libvirt network: a DHCP host entry for each port's address, the metadata
 * proxy's route to it, and which instance has which address. Changes to the network's DHCP entries are made
 * one at a time.
 */
export class GuestNetwork {
  private facts: NetworkFacts | null = null;
  private lock: Promise<unknown> = Promise.resolve();
  /** Guest address → instance, for the metadata proxy. */
  private readonly byIp = new Map<string, { instanceId: string; projectId: string }>();

  constructor(
    private readonly network: LibvirtNetwork,
    private readonly addresses?: GuestAddresses,
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

  /** The instance a guest address belongs to. */
  instanceAt(ip: string): { instanceId: string; projectId: string } | null {
    return this.byIp.get(ip) ?? null;
  }

  /** Notes the instance's addresses as its own: from then on the metadata proxy knows it by them. */
  bind(instanceId: string, projectId: string, ports: Port[]): void {
    for (const p of ports) this.byIp.set(p.ip, { instanceId, projectId });
  }

  /** A guest found running at start: its addresses are its own, and routed. */
  async adopt(instanceId: string, projectId: string, ports: Port[]): Promise<void> {
    for (const p of ports) {
      this.bind(instanceId, projectId, [p]);
      await this.addresses?.add(p.ip);
    }
  }

  /** Reserves each port's address for its MAC, then routes it. */
  async plug(ports: Port[]): Promise<void> {
    const bridge = this.host.bridge;
    await this.serially(async () => {
      for (const p of ports) await this.network.addHost(p.mac, p.ip, bridge);
    });
    for (const p of ports) await this.addresses?.add(p.ip);
  }

  /** Frees the instance's addresses: their DHCP entries and routes unless `keepNetwork` (a rebuild keeps them). */
  async unplug(instanceId: string, ports: Port[], keepNetwork = false): Promise<void> {
    if (!keepNetwork) {
      await this.serially(async () => {
        for (const p of ports) await this.network.removeHost(p.mac, p.ip, this.host.bridge);
      });
      for (const p of ports) await this.addresses?.remove(p.ip);
    }
    for (const p of ports) if (this.byIp.get(p.ip)?.instanceId === instanceId) this.byIp.delete(p.ip);
  }
}
