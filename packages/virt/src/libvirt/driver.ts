import { mkdir, readFile, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { powerStates } from '@aster/compute';
import {
  DriverError,
  InstanceNotFound,
  type ConsoleEndpoint,
  type Driver,
  type HostCapabilities,
  type HostInventory,
  type InstanceInfo,
  type InstanceSpec,
  type LifecycleEvent,
  type SnapshotResult,
} from '../driver.ts';
import { configDriveFiles } from './config-drive.ts';
import { buildConfigDrive, createOverlay, exists, growDisk, ImageCache, tool } from './disks.ts';
import { withSize } from './domain-update.ts';
import { domainXml } from './domain-xml.ts';
import { Domains, UUID, type LibvirtLog } from './domains.ts';
import { canBind, closedToOthers, EVENTS, ovsDatapathOf, parseNodeinfo, parseVersion, powerStateOf } from './facts.ts';
import { probeKvm } from './kvm.ts';
import { GuestNetwork, type GuestAddresses, type ProjectPorts } from './guest-network.ts';
import type { PortRecord } from './domain-xml.ts';
import { LibvirtNetwork, type NetworkFacts } from './network.ts';
import { PowerActions } from './power.ts';
import { rescue, unrescue } from './rescue.ts';
import { LibvirtError, Virsh } from './virsh.ts';

export interface LibvirtDriverOptions {
  /** The compute host this driver serves; domains of other hosts on the same libvirt are not its own. */
  host?: string;
  uri?: string;
  /** Instances' disks, config drives and console logs, and the image cache; must be reachable by QEMU's user. */
  stateDir: string;
  /** Where images are downloaded from (builds carry signed paths relative to it). */
  apiUrl: string;
  /** The address VNC, SPICE and serial consoles listen on; the console proxy must reach it. */
  consoleHost?: string;
  network?: string;
  /** `auto` boots `kvmProbeImage` under KVM at init and uses `kvm` only if that works. */
  domainType?: 'auto' | 'kvm' | 'qemu';
  kvmProbeImage?: string | null;
  serialPortRange?: [number, number];
  reservedRamMb?: number;
  reservedDiskGb?: number;
  /** Told of each guest address plugged and unplugged (the metadata proxy routes them); also of existing ones at init. */
  guestAddresses?: GuestAddresses;
  /** Told of the ports on networks that are not external (their metadata path on this host); also of existing ones at init. */
  projectPorts?: ProjectPorts;
  /** The Open vSwitch integration bridge every guest port is plugged into (OVN's `br-int`). */
  ovsBridge?: string;
  /** `auto` asks Open vSwitch at start which datapath the bridge has. */
  ovsDatapath?: 'auto' | 'system' | 'netdev';
  /** Open vSwitch's database (`ovs-vsctl --db`), when not the host's default. */
  ovsDb?: string;
  log?: LibvirtLog;
}

const { NOSTATE, RUNNING } = powerStates;
const DOMAIN_PREFIX = 'aster-';

/**
 * The real hypervisor driver: libvirt with QEMU (Nova's LibvirtDriver), through `virsh` and domain XML. The
 * domain's UUID is the instance's id. See `Driver` for the contract it keeps. Power actions are in
 * `power.ts`, rescue in `rescue.ts`; the domain's definition is built in `domain-xml.ts` and changed as a
 * document in `domain-update.ts`.
 */
export class LibvirtDriver implements Driver {
  readonly name = 'libvirt';
  readonly virsh: Virsh;
  private readonly domains: Domains;
  private readonly power: PowerActions;
  private readonly network: GuestNetwork;
  private readonly images: ImageCache;
  private readonly consoleHost: string;
  private domainType: 'kvm' | 'qemu' = 'qemu';
  private kvmReason = '';
  private ovsDatapath: 'system' | 'netdev' | null = null;
  private readonly listeners = new Set<(e: LifecycleEvent) => void>();
  private events: { stop(): void } | null = null;
  /** Serial ports in use or promised to a spawn in progress. */
  private readonly serialPorts = new Set<number>();

  constructor(private readonly o: LibvirtDriverOptions) {
    this.virsh = new Virsh({ ...(o.uri ? { uri: o.uri } : {}) });
    this.domains = new Domains(this.virsh, o.host ?? 'localhost');
    this.power = new PowerActions(this.domains, o.log);
    this.network = new GuestNetwork(new LibvirtNetwork(this.virsh, o.network ?? 'default'), o.guestAddresses, o.projectPorts);
    this.images = new ImageCache(join(o.stateDir, 'images'), o.apiUrl);
    this.consoleHost = o.consoleHost ?? '127.0.0.1';
  }

  private instanceDir(id: string) {
    return join(this.o.stateDir, 'instances', id);
  }

  async init(): Promise<void> {
    try {
      await this.virsh.run(['version'], { timeoutMs: 15_000 });
    } catch (error) {
      throw new DriverError(`libvirt is not reachable at ${this.virsh.uri}: ${(error as Error).message} (start virtlogd -d and libvirtd -d)`);
    }
    await mkdir(join(this.o.stateDir, 'instances'), { recursive: true, mode: 0o755 });
    const closed = await closedToOthers(this.o.stateDir);
    if (closed) {
      throw new DriverError(
        `QEMU runs as its own user and cannot reach ${this.o.stateDir}: ${closed} is not searchable by others (chmod o+x it, or choose another ASTER_COMPUTE_STATE_DIR)`,
      );
    }
    const net = await this.network.ensure();
    const wanted = this.o.domainType ?? 'auto';
    if (wanted === 'auto') {
      const verdict = await probeKvm(this.o.kvmProbeImage ?? null);
      this.domainType = verdict.domainType;
      this.kvmReason = verdict.reason;
    } else {
      this.domainType = wanted;
      this.kvmReason = 'set by configuration';
    }
    this.ovsDatapath = await this.detectOvsDatapath();
    const foreign: string[] = [];
    const guests: { instanceId: string; ports: PortRecord[] }[] = [];
    for (const id of await this.domains.uuids()) {
      const facts = await this.domains.facts(id).catch(() => null);
      if (!facts) continue;
      if (facts.serial?.port) this.serialPorts.add(facts.serial.port);
      this.domains.remember(id, facts);
      if (facts.aster && this.domains.owns(id)) {
        await this.network.adopt(id, facts.aster.projectId, facts.aster.ports);
        guests.push({ instanceId: id, ports: facts.aster.ports });
      }
      if (!facts.aster) foreign.push(`${facts.name} (${id})`);
    }
    await this.network.adopted(guests);
    if (foreign.length) this.o.log?.warn('domains on this hypervisor that Aster did not create (left alone)', { domains: foreign });
    this.o.log?.info('libvirt driver ready', {
      domainType: this.domainType,
      why: this.kvmReason,
      network: net.name,
      bridge: net.bridge,
      ovsBridge: this.ovsBridge,
      ovsDatapath: this.ovsDatapath,
    });
    this.events = this.virsh.events(
      (e) => void this.onLibvirtEvent(e.domain, e.event),
      (error) => this.o.log?.warn('libvirt events', { error: error.message }),
    );
  }

  private async onLibvirtEvent(domain: string, event: string): Promise<void> {
    const name = EVENTS[event];
    if (!name || !this.listeners.size) return;
    let id = domain.startsWith(DOMAIN_PREFIX) ? domain.slice(DOMAIN_PREFIX.length) : '';
    if (!UUID.test(id)) id = (await this.virsh.run(['domuuid', domain]).catch(() => '')).trim();
    if (!UUID.test(id)) return;
    if (name !== 'deleted') await this.domains.learnOwners([id]);
    if (!this.domains.owns(id)) return;
    const info = name === 'deleted' ? null : await this.info(id).catch(() => null);
    const e: LifecycleEvent = { id, event: name, powerState: info?.powerState ?? NOSTATE };
    for (const l of this.listeners) l(e);
  }

  private get ovsBridge(): string {
    return this.o.ovsBridge ?? 'br-int';
  }

  /** The datapath of the integration bridge: as configured, else as Open vSwitch says (null when it cannot be asked). */
  private async detectOvsDatapath(): Promise<'system' | 'netdev' | null> {
    const wanted = this.o.ovsDatapath ?? 'auto';
    if (wanted !== 'auto') return wanted;
    const db = this.o.ovsDb ? [`--db=${this.o.ovsDb}`] : [];
    try {
      return ovsDatapathOf(await tool('ovs-vsctl', [...db, '--timeout=5', 'get', 'bridge', this.ovsBridge, 'datapath_type'], 10_000));
    } catch (error) {
      this.o.log?.warn('cannot tell the Open vSwitch datapath: guests cannot be plugged until the bridge exists', { bridge: this.ovsBridge, error: (error as Error).message });
      return null;
    }
  }

  /**
   * The instance with a guest address, for the metadata proxy: on network `networkId` (a request through
   * that network's metadata namespace), or on the external network when null (a request by DNAT).
   */
  instanceByIp(ip: string, networkId: string | null = null): { instanceId: string; projectId: string } | null {
    return this.network.instanceAt(ip, networkId);
  }

  /** The host side of the instances' network (the metadata proxy listens there). */
  networkFacts(): NetworkFacts {
    return this.network.host;
  }

  async capabilities(): Promise<HostCapabilities> {
    const version = await this.virsh.run(['version']).catch(() => '');
    return {
      hypervisorType: this.domainType,
      arch: 'x86_64',
      consoles: ['vnc', 'spice', 'serial'],
      domainType: this.domainType,
      domainTypeReason: this.kvmReason,
      ...(this.ovsDatapath ? { ovsDatapath: this.ovsDatapath } : {}),
      ...parseVersion(version),
    };
  }

  async inventory(): Promise<HostInventory> {
    const node = parseNodeinfo(await this.virsh.run(['nodeinfo']));
    const fs = await statfs(this.o.stateDir);
    return {
      vcpus: node.cpus,
      ramMb: node.ramMb,
      diskGb: Math.floor((fs.blocks * fs.bsize) / 1024 ** 3),
      reservedRamMb: this.o.reservedRamMb ?? 512,
      reservedDiskGb: this.o.reservedDiskGb ?? 0,
    };
  }

  info(id: string): Promise<InstanceInfo | null> {
    return this.domains.info(id);
  }

  list(): Promise<InstanceInfo[]> {
    return this.domains.list();
  }

  private async pickSerialPort(): Promise<number> {
    const [low, high] = this.o.serialPortRange ?? [10000, 20000];
    for (let port = low; port <= high; port++) {
      if (this.serialPorts.has(port)) continue;
      this.serialPorts.add(port);
      if (await canBind(this.consoleHost, port)) return port;
      this.serialPorts.delete(port);
    }
    throw new DriverError(`no free serial console port in ${low}-${high} on ${this.consoleHost}`);
  }

  async spawn(spec: InstanceSpec, progress?: (step: string) => void): Promise<InstanceInfo> {
    const existing = await this.info(spec.id);
    if (existing) return existing;
    const ports: PortRecord[] = spec.ports.map((p) => ({ id: p.id, networkId: p.networkId, mac: p.mac, ip: p.ip, external: p.external, metadata: p.metadata }));
    // Each step is reported as it is done, and none once the spawn has ended (work started together may end later).
    let spawning = true;
    const done = (step: string) => {
      if (spawning) progress?.(step);
    };
    const dir = this.instanceDir(spec.id);
    let serialPort: number | null = null;
    let plugged: Promise<void> = Promise.resolve();
    try {
      const base = await this.images.fetch(spec.image, done);
      await mkdir(dir, { recursive: true, mode: 0o755 });
      const disk = join(dir, 'disk');
      const configDrive = join(dir, 'disk.config');
      // Independent of each other, so together: the disk, the config drive, the definition, and the network.
      // libvirt takes ~0.4 s to apply a DHCP entry live; that runs while QEMU starts (the NIC is on br-int,
      // so the start does not wait on the network driver), paused: the guest's CPU runs only once its address
      // is reserved and its network's metadata path is there, so it can never ask for either too early.
      plugged = this.network.plug(spec.id, ports).then(() => done('plugging network'));
      plugged.catch(() => {}); // awaited below; a failure before then must not go unhandled
      // The definition is only configuration: it is written while the files it names are made.
      const define = async (port: number) => {
        serialPort = port;
        const xml = domainXml({
          id: spec.id,
          name: `${DOMAIN_PREFIX}${spec.id}`,
          title: spec.name,
          domainType: this.domainType,
          vcpus: spec.flavor.vcpus,
          memoryMb: spec.flavor.ramMb,
          disk: { path: disk, format: 'qcow2' },
          configDrive,
          nics: spec.ports.map((p, i) => ({ ...ports[i]!, bridge: this.ovsBridge, mtu: p.mtu })),
          consoleHost: this.consoleHost,
          serialPort: port,
          consoleLog: join(dir, 'console.log'),
          aster: { host: this.domains.host, projectId: spec.projectId, flavorId: spec.flavor.id, flavorName: spec.flavor.name, imageId: spec.image.id },
        });
        await this.virsh.withXml(['define'], xml);
        this.domains.claim(spec.id);
        done('defining domain');
      };
      // All settled before going on, so that a failure of one is cleaned up after the others are done.
      const made = await Promise.allSettled([
        createOverlay(disk, base, spec.image.diskFormat, spec.flavor.diskGb, spec.image.name).then(() => done('creating disk')),
        buildConfigDrive(configDrive, configDriveFiles(spec)).then(() => done('writing config drive')),
        this.pickSerialPort().then(define),
      ]);
      for (const m of made) if (m.status === 'rejected') throw m.reason;
      this.network.bind(spec.id, spec.projectId, ports);
      const [started] = await Promise.allSettled([this.virsh.run(['start', spec.id, '--paused'], { timeoutMs: 120_000 }), plugged]);
      await plugged;
      if (started.status === 'rejected') throw started.reason;
      await this.virsh.run(['resume', spec.id]);
      done('starting');
      return await this.domains.running(spec.id);
    } catch (error) {
      spawning = false;
      await plugged.catch(() => {});
      await this.teardown(spec.id, ports).catch((e: unknown) => this.o.log?.warn('cleaning up a failed spawn', { id: spec.id, error: (e as Error).message }));
      if (serialPort !== null) this.serialPorts.delete(serialPort);
      await rm(dir, { recursive: true, force: true });
      throw error;
    } finally {
      spawning = false;
    }
  }

  /** Stops and undefines the domain and removes its files and DHCP entries; missing pieces are fine. */
  private async teardown(id: string, ports?: (PortRecord | { mac: string; ip: string })[], keepNetwork = false): Promise<void> {
    const facts = await this.domains.facts(id, true).catch((error: unknown) => {
      if (error instanceof LibvirtError && error.notFound) return null;
      throw error;
    });
    if (facts?.aster?.host && facts.aster.host !== this.domains.host) return; // another host's, on a shared libvirt
    if (facts) {
      await this.virsh.run(['destroy', id]).catch((e: unknown) => {
        if (!(e instanceof LibvirtError && (e.notFound || /not running/i.test(e.message)))) throw e;
      });
      await this.virsh.run(['undefine', id, '--managed-save', '--snapshots-metadata']).catch((e: unknown) => {
        if (!(e instanceof LibvirtError && e.notFound)) throw e;
      });
      if (facts.serial?.port) this.serialPorts.delete(facts.serial.port);
    }
    await this.network.unplug(id, ports ?? facts?.aster?.ports ?? [], keepNetwork);
    await rm(this.instanceDir(id), { recursive: true, force: true });
  }

  async destroy(id: string, hints: { ports?: { mac: string; ip: string }[] } = {}): Promise<void> {
    await this.teardown(id, hints.ports?.length ? hints.ports : undefined);
  }

  powerOff(id: string, options: { timeoutSeconds?: number } = {}): Promise<void> {
    return this.power.powerOff(id, options);
  }

  powerOn(id: string): Promise<void> {
    return this.power.powerOn(id);
  }

  reboot(id: string, type: 'SOFT' | 'HARD'): Promise<void> {
    return this.power.reboot(id, type);
  }

  pause(id: string): Promise<void> {
    return this.power.pause(id);
  }

  unpause(id: string): Promise<void> {
    return this.power.unpause(id);
  }

  suspend(id: string): Promise<void> {
    return this.power.suspend(id);
  }

  resume(id: string): Promise<void> {
    return this.power.resume(id);
  }

  async snapshot(id: string): Promise<SnapshotResult> {
    const d = await this.domains.mustExist(id);
    const dir = join(this.o.stateDir, 'snapshots');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `${id}-${Date.now()}.qcow2`);
    const disk = join(this.instanceDir(id), 'disk');
    // A paused guest writes nothing while its disk is read; the base image is only read.
    const pauseIt = powerStateOf(d) === RUNNING;
    if (pauseIt) await this.virsh.run(['suspend', id]);
    try {
      await tool('qemu-img', ['convert', '-U', '-O', 'qcow2', disk, path], 30 * 60_000);
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    } finally {
      if (pauseIt) await this.virsh.run(['resume', id]).catch(() => {});
    }
    return { diskFormat: 'qcow2', path, cleanup: () => rm(path, { force: true }) };
  }

  async resize(id: string, flavor: InstanceSpec['flavor']): Promise<void> {
    const d = await this.domains.mustExist(id);
    const wasRunning = powerStateOf(d) === RUNNING;
    if (d.state !== 'shut off') await this.powerOff(id, { timeoutSeconds: 60 });
    const xml = await this.virsh.run(['dumpxml', id, '--inactive']);
    await this.virsh.withXml(['define'], withSize(xml, flavor.vcpus, flavor.ramMb, flavor));
    await growDisk(join(this.instanceDir(id), 'disk'), flavor.diskGb);
    if (wasRunning) await this.virsh.run(['start', id], { timeoutMs: 120_000 });
  }

  async rebuild(spec: InstanceSpec): Promise<InstanceInfo> {
    await this.domains.mustExist(spec.id);
    // Same ports and addresses: the DHCP entries stay; disk, config drive and domain are made anew.
    await this.teardown(spec.id, undefined, true);
    return this.spawn(spec);
  }

  rescue(spec: InstanceSpec): Promise<InstanceInfo> {
    return rescue(this.rescueHost(), spec);
  }

  unrescue(id: string): Promise<InstanceInfo> {
    return unrescue(this.rescueHost(), id);
  }

  private rescueHost() {
    return { domains: this.domains, power: this.power, images: this.images, instanceDir: (id: string) => this.instanceDir(id), ...(this.o.log ? { log: this.o.log } : {}) };
  }

  async consoles(id: string): Promise<ConsoleEndpoint[]> {
    await this.domains.mustExist(id);
    const facts = await this.domains.facts(id);
    const out: ConsoleEndpoint[] = [];
    for (const g of facts.graphics) if (g.port) out.push({ type: g.type, host: g.host, port: g.port });
    if (facts.serial?.type === 'tcp' && facts.serial.port) out.push({ type: 'serial', host: facts.serial.host ?? this.consoleHost, port: facts.serial.port });
    return out;
  }

  async consoleLog(id: string, lines?: number): Promise<string> {
    const path = join(this.instanceDir(id), 'console.log');
    if (!(await exists(path))) {
      if (!(await this.domains.dominfo(id))) throw new InstanceNotFound(id);
      return '';
    }
    const text = await readFile(path, 'utf8');
    if (!lines) return text;
    const all = text.split('\n');
    if (all.at(-1) === '') all.pop();
    return all.slice(-lines).join('\n') + '\n';
  }

  onEvent(listener: (event: LifecycleEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.events?.stop();
    this.events = null;
    this.listeners.clear();
  }
}
