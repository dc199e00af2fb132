import { DriverError, InstanceNotFound, type InstanceInfo } from '../driver.ts';
import { parseDomainXml, type DomainFacts } from './domain-xml.ts';
import { parseDominfo, powerStateOf, type DomInfo } from './facts.ts';
import { LibvirtError, type Virsh } from './virsh.ts';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface LibvirtLog {
  info(msg: string, f?: object): void;
  warn(msg: string, f?: object): void;
}

/**
 * The domains of one compute host, as libvirt tells of them. Several hosts may share one libvirt: a domain
 * Aster made names its host in its metadata, and another host's domains are not this one's (domains Aster
 * did not make are, to be listed but never touched).
 */
export class Domains {
  /** Which host owns each domain seen (null: not made by Aster); read once per domain. */
  private readonly owners = new Map<string, string | null>();

  constructor(
    readonly virsh: Virsh,
    readonly host: string,
  ) {}

  /** Whether a domain is this host's to manage: Aster's domains of another agent on the same libvirt are not. */
  owns(id: string): boolean {
    const owner = this.owners.get(id);
    return owner === undefined || owner === null || owner === this.host;
  }

  /** Notes whose domain `id` is, from its definition (this host's when it names none). */
  remember(id: string, facts: DomainFacts): void {
    this.owners.set(id, facts.aster ? (facts.aster.host ?? this.host) : null);
  }

  /** A domain this host has just defined. */
  claim(id: string): void {
    this.owners.set(id, this.host);
  }

  /** Learns who owns domains not seen before (one dumpxml each, once). */
  async learnOwners(ids: string[]): Promise<void> {
    for (const id of ids) {
      if (this.owners.has(id)) continue;
      const facts = await this.facts(id, true).catch(() => null);
      if (facts) this.remember(id, facts);
    }
  }

  /** Every domain's UUID on this libvirt, whoever owns it. */
  async uuids(): Promise<string[]> {
    return (await this.virsh.run(['list', '--all', '--uuid'])).split('\n').map((l) => l.trim()).filter((l) => UUID.test(l));
  }

  async facts(id: string, inactive = false): Promise<DomainFacts> {
    return parseDomainXml(await this.virsh.run(['dumpxml', id, ...(inactive ? ['--inactive'] : [])]));
  }

  /** What `virsh dominfo` says of one of this host's domains; null when there is none. */
  async dominfo(id: string): Promise<DomInfo | null> {
    let info: DomInfo;
    try {
      info = parseDominfo(await this.virsh.run(['dominfo', id]));
    } catch (error) {
      if (error instanceof LibvirtError && error.notFound) return null;
      throw error;
    }
    if (!this.owners.has(id)) await this.learnOwners([id]);
    return this.owns(id) ? info : null;
  }

  async mustExist(id: string): Promise<DomInfo> {
    const d = await this.dominfo(id);
    if (!d) throw new InstanceNotFound(id);
    return d;
  }

  async info(id: string): Promise<InstanceInfo | null> {
    const d = await this.dominfo(id);
    return d ? { id, powerState: powerStateOf(d), vcpus: d.vcpus, ramMb: d.ramMb } : null;
  }

  /** The info of a domain that was just started. */
  async running(id: string): Promise<InstanceInfo> {
    const info = await this.info(id);
    if (!info) throw new DriverError('the domain vanished right after it started');
    return info;
  }

  async list(): Promise<InstanceInfo[]> {
    const out: InstanceInfo[] = [];
    const ids = await this.uuids();
    await this.learnOwners(ids);
    for (const id of ids.filter((i) => this.owns(i))) {
      const i = await this.info(id);
      if (i) out.push(i);
    }
    return out;
  }

  /** Stops the domain at once; one not running is fine. */
  async destroy(id: string): Promise<void> {
    await this.virsh.run(['destroy', id]).catch((e: unknown) => {
      if (!(e instanceof LibvirtError && /not running/i.test(e.message))) throw e;
    });
  }
}
