import { mkdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
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
import { domainXml, parseDomainXml, rescueXml, withSize, type DomainFacts } from './domain-xml.ts';
import { probeKvm } from './kvm.ts';
import { LibvirtNetwork, type NetworkFacts } from './network.ts';
import { canBind, closedToOthers, EVENTS, inSubnet, powerStateOf, parseDominfo, type DomInfo } from './facts.ts';
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
  guestAddresses?: { add(ip: string): Promise<void>; remove(ip: string): Promise<void> };
  log?: { info(msg: string, f?: object): void; warn(msg: string, f?: object): void };
}

const { NOSTATE, RUNNING } = powerStates;
const DOMAIN_PREFIX = 'aster-';
/** How long a guest being rescued has to shut down on ACPI before it is forced off (its own disk is kept). */
const RESCUE_SHUTDOWN_SECONDS = 10;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The real hypervisor driver: libvirt with QEMU (Nova's LibvirtDriver), through `virsh` and domain XML. The
 * domain's UUID is the instance's id. See `Driver` for the contract it keeps.
 */
export class LibvirtDriver implements Driver {
  readonly name = 'libvirt';
  readonly virsh: Virsh;
  private readonly network: LibvirtNetwork;
  private readonly images: ImageCache;
  private readonly consoleHost: string;
  private domainType: 'kvm' | 'qemu' = 'qemu';
  private kvmReason = '';
  private net: NetworkFacts | null = null;
  private readonly listeners = new Set<(e: LifecycleEvent) => void>();
  private events: { stop(): void } | null = null;
  /** Serial ports in use or promised to a spawn in progress. */
  private readonly serialPorts = new Set<number>();
  /** Guest address → instance, for the metadata proxy. */
  private readonly byIp = new Map<string, { instanceId: string; projectId: string }>();
  private networkLock: Promise<unknown> = Promise.resolve();
  /** Which host owns each domain seen (null: not created by Aster); read once per domain. */
  private readonly owners = new Map<string, string | null>();

  constructor(private readonly o: LibvirtDriverOptions) {
    this.virsh = new Virsh({ ...(o.uri ? { uri: o.uri } : {}) });
    this.network = new LibvirtNetwork(this.virsh, o.network ?? 'default');
    this.images = new ImageCache(join(o.stateDir, 'images'), o.apiUrl);
    this.consoleHost = o.consoleHost ?? '127.0.0.1';
  }

  private get hostName(): string {
    return this.o.host ?? 'localhost';
  }

  /** Whether a domain is this host's to manage: Aster's domains of another agent on the same libvirt are not. */
  private owns(id: string): boolean {
    const owner = this.owners.get(id);
    return owner === undefined || owner === null || owner === this.hostName;
  }

  /** Learns who owns domains not seen before (one dumpxml each, once). */
  private async learnOwners(ids: string[]): Promise<void> {
    for (const id of ids) {
      if (this.owners.has(id)) continue;
      const facts = await this.facts(id, true).catch(() => null);
      if (facts) this.owners.set(id, facts.aster ? (facts.aster.host ?? this.hostName) : null);
    }
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
    this.net = await this.network.ensure();
    const wanted = this.o.domainType ?? 'auto';
    if (wanted === 'auto') {
      const verdict = await probeKvm(this.o.kvmProbeImage ?? null);
      this.domainType = verdict.domainType;
      this.kvmReason = verdict.reason;
    } else {
      this.domainType = wanted;
      this.kvmReason = 'set by configuration';
    }
    const foreign: string[] = [];
    for (const id of await this.uuids()) {
      const facts = await this.facts(id).catch(() => null);
      if (!facts) continue;
      if (facts.serial?.port) this.serialPorts.add(facts.serial.port);
      this.owners.set(id, facts.aster ? (facts.aster.host ?? this.hostName) : null);
      if (facts.aster && this.owns(id)) {
        for (const p of facts.aster.ports) {
          this.byIp.set(p.ip, { instanceId: id, projectId: facts.aster.projectId });
          await this.o.guestAddresses?.add(p.ip);
        }
      }
      if (!facts.aster) foreign.push(`${facts.name} (${id})`);
    }
    if (foreign.length) this.o.log?.warn('domains on this hypervisor that Aster did not create (left alone)', { domains: foreign });
    this.o.log?.info('libvirt driver ready', { domainType: this.domainType, why: this.kvmReason, network: this.net.name, bridge: this.net.bridge });
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
    if (name !== 'deleted') await this.learnOwners([id]);
    if (!this.owns(id)) return;
    const info = name === 'deleted' ? null : await this.info(id).catch(() => null);
    const e: LifecycleEvent = { id, event: name, powerState: info?.powerState ?? NOSTATE };
    for (const l of this.listeners) l(e);
  }

  /** The instance a guest address belongs to, for the metadata proxy. */
  instanceByIp(ip: string): { instanceId: string; projectId: string } | null {
    return this.byIp.get(ip) ?? null;
  }

  /** The host side of the instances' network (the metadata proxy listens there). */
  networkFacts(): NetworkFacts {
    if (!this.net) throw new DriverError('the libvirt driver is not initialised');
    return this.net;
  }

  async capabilities(): Promise<HostCapabilities> {
    const version = await this.virsh.run(['version']).catch(() => '');
    return {
      hypervisorType: this.domainType,
      arch: 'x86_64',
      consoles: ['vnc', 'spice', 'serial'],
      domainType: this.domainType,
      domainTypeReason: this.kvmReason,
      libvirtVersion: /Using library: libvirt ([\d.]+)/.exec(version)?.[1] ?? null,
      qemuVersion: /Running hypervisor: QEMU ([\d.]+)/.exec(version)?.[1] ?? null,
    };
  }

  async inventory(): Promise<HostInventory> {
    const node = await this.virsh.run(['nodeinfo']);
    const cpus = Number(/^CPU\(s\):\s*(\d+)/m.exec(node)?.[1] ?? 1);
    const memKib = Number(/^Memory size:\s*(\d+)/m.exec(node)?.[1] ?? 0);
    const fs = await statfs(this.o.stateDir);
    return {
      vcpus: cpus,
      ramMb: Math.floor(memKib / 1024),
      diskGb: Math.floor((fs.blocks * fs.bsize) / 1024 ** 3),
      reservedRamMb: this.o.reservedRamMb ?? 512,
      reservedDiskGb: this.o.reservedDiskGb ?? 0,
    };
  }

  private async uuids(): Promise<string[]> {
    return (await this.virsh.run(['list', '--all', '--uuid'])).split('\n').map((l) => l.trim()).filter((l) => UUID.test(l));
  }

  private async facts(id: string, inactive = false): Promise<DomainFacts> {
    return parseDomainXml(await this.virsh.run(['dumpxml', id, ...(inactive ? ['--inactive'] : [])]));
  }

  private async dominfo(id: string): Promise<DomInfo | null> {
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

  private async mustExist(id: string): Promise<DomInfo> {
    const d = await this.dominfo(id);
    if (!d) throw new InstanceNotFound(id);
    return d;
  }

  async info(id: string): Promise<InstanceInfo | null> {
    const d = await this.dominfo(id);
    return d ? { id, powerState: powerStateOf(d), vcpus: d.vcpus, ramMb: d.ramMb } : null;
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

  private withNetworkLock<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.networkLock.catch(() => {}).then(fn);
    this.networkLock = next;
    return next;
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
    const net = this.networkFacts();
    for (const p of spec.ports) {
      if (!inSubnet(p.ip, net.address, net.netmask)) {
        throw new DriverError(
          `port ${p.ip} is on network ${p.networkName} (${p.cidr}), which this host cannot plug: its libvirt network ${net.name} is ${net.address}/${net.netmask}`,
        );
      }
    }
    const dir = this.instanceDir(spec.id);
    let serialPort: number | null = null;
    try {
      const base = await this.images.fetch(spec.image, progress);
      await mkdir(dir, { recursive: true, mode: 0o755 });
      const disk = join(dir, 'disk');
      const configDrive = join(dir, 'disk.config');
      // Independent of each other, so together: the disk, the config drive, a console port, and the network.
      // libvirt takes ~0.4 s to apply a DHCP entry live; that runs while QEMU starts (the NIC is on the bridge,
      // so the start does not wait on the network driver), paused: the guest's CPU runs only once its address
      // is reserved, so it can never ask for one too early.
      progress?.('creating disk');
      progress?.('writing config drive');
      progress?.('plugging network');
      const plugged = this.withNetworkLock(async () => {
        for (const p of spec.ports) await this.network.addHost(p.mac, p.ip, net.bridge);
      }).then(async () => {
        for (const p of spec.ports) await this.o.guestAddresses?.add(p.ip);
      });
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
          nics: spec.ports.map((p) => ({ mac: p.mac, bridge: net.bridge, ip: p.ip })),
          consoleHost: this.consoleHost,
          serialPort: port,
          consoleLog: join(dir, 'console.log'),
          aster: { host: this.hostName, projectId: spec.projectId, flavorId: spec.flavor.id, flavorName: spec.flavor.name, imageId: spec.image.id },
        });
        await this.virsh.withXml(['define'], xml);
        this.owners.set(spec.id, this.hostName);
      };
      await Promise.all([
        createOverlay(disk, base, spec.image.diskFormat, spec.flavor.diskGb, spec.image.name),
        buildConfigDrive(configDrive, configDriveFiles(spec)),
        this.pickSerialPort().then(define),
      ]);
      progress?.('starting');
      for (const p of spec.ports) this.byIp.set(p.ip, { instanceId: spec.id, projectId: spec.projectId });
      const [started] = await Promise.allSettled([this.virsh.run(['start', spec.id, '--paused'], { timeoutMs: 120_000 }), plugged]);
      await plugged;
      if (started.status === 'rejected') throw started.reason;
      await this.virsh.run(['resume', spec.id]);
      const info = await this.info(spec.id);
      if (!info) throw new DriverError('the domain vanished right after it started');
      return info;
    } catch (error) {
      await this.teardown(spec.id, spec.ports).catch((e: unknown) => this.o.log?.warn('cleaning up a failed spawn', { id: spec.id, error: (e as Error).message }));
      if (serialPort !== null) this.serialPorts.delete(serialPort);
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Stops and undefines the domain and removes its files and DHCP entries; missing pieces are fine. */
  private async teardown(id: string, ports?: { mac: string; ip: string }[], keepNetwork = false): Promise<void> {
    const facts = await this.facts(id, true).catch((error: unknown) => {
      if (error instanceof LibvirtError && error.notFound) return null;
      throw error;
    });
    if (facts?.aster?.host && facts.aster.host !== this.hostName) return; // another host's, on a shared libvirt
    if (facts) {
      await this.virsh.run(['destroy', id]).catch((e: unknown) => {
        if (!(e instanceof LibvirtError && (e.notFound || /not running/i.test(e.message)))) throw e;
      });
      await this.virsh.run(['undefine', id, '--managed-save', '--snapshots-metadata']).catch((e: unknown) => {
        if (!(e instanceof LibvirtError && e.notFound)) throw e;
      });
      if (facts.serial?.port) this.serialPorts.delete(facts.serial.port);
    }
    const owned = ports ?? facts?.aster?.ports ?? [];
    if (!keepNetwork) {
      await this.withNetworkLock(async () => {
        for (const p of owned) await this.network.removeHost(p.mac, p.ip, this.networkFacts().bridge);
      });
      for (const p of owned) await this.o.guestAddresses?.remove(p.ip);
    }
    for (const p of owned) if (this.byIp.get(p.ip)?.instanceId === id) this.byIp.delete(p.ip);
    await rm(this.instanceDir(id), { recursive: true, force: true });
  }

  async destroy(id: string, hints: { ports?: { mac: string; ip: string }[] } = {}): Promise<void> {
    await this.teardown(id, hints.ports?.length ? hints.ports : undefined);
  }

  private async waitFor(id: string, done: (d: DomInfo | null) => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (done(await this.dominfo(id))) return true;
      if (Date.now() >= deadline) return false;
      await sleep(250);
    }
  }

  /**
   * Presses the ACPI power button until the guest is off or `timeoutMs` passes; pressed again every two
   * seconds (Nova's shutdown_retry_interval, shorter), since a guest still booting misses early presses.
   */
  private async acpiShutdown(id: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await this.virsh.run(['shutdown', id, '--mode', 'acpi']).catch(() => {});
      if (await this.waitFor(id, (x) => x === null || x.state === 'shut off', Math.min(2_000, deadline - Date.now()))) return true;
    }
    return false;
  }

  async powerOff(id: string, options: { timeoutSeconds?: number } = {}): Promise<void> {
    const d = await this.mustExist(id);
    if (d.state === 'shut off') return;
    if (d.state === 'running' || d.state === 'idle' || d.state === 'blocked' || d.state === 'in shutdown') {
      if (await this.acpiShutdown(id, (options.timeoutSeconds ?? 60) * 1000)) return;
      this.o.log?.warn('guest ignored the ACPI shutdown; forcing it off', { id, timeoutSeconds: options.timeoutSeconds ?? 60 });
    }
    await this.virsh.run(['destroy', id]).catch((e: unknown) => {
      if (!(e instanceof LibvirtError && /not running/i.test(e.message))) throw e;
    });
  }

  async powerOn(id: string): Promise<void> {
    const d = await this.mustExist(id);
    if (d.state === 'shut off') await this.virsh.run(['start', id], { timeoutMs: 120_000 });
    else if (d.state === 'paused') await this.virsh.run(['resume', id]);
  }

  async reboot(id: string, type: 'SOFT' | 'HARD'): Promise<void> {
    const d = await this.mustExist(id);
    if (type === 'SOFT' && powerStateOf(d) === RUNNING) {
      // As Nova does: an ACPI shutdown and a fresh start; a guest that ignores it gets a hard reboot.
      if (await this.acpiShutdown(id, 60_000)) {
        await this.virsh.run(['start', id], { timeoutMs: 120_000 });
        return;
      }
      this.o.log?.warn('guest ignored the ACPI reboot; rebooting it hard', { id });
    }
    // Hard: whatever state it is in, the guest starts afresh (a managed save is dropped, as Nova's hard reboot does).
    const now = (await this.dominfo(id)) ?? d;
    if (now.state !== 'shut off') await this.virsh.run(['destroy', id]);
    if (now.managedSave) await this.virsh.run(['managedsave-remove', id]);
    await this.virsh.run(['start', id], { timeoutMs: 120_000 });
  }

  async pause(id: string): Promise<void> {
    const d = await this.mustExist(id);
    if (d.state === 'paused') return;
    if (powerStateOf(d) !== RUNNING) throw new DriverError(`cannot pause: the guest is ${d.state}`);
    await this.virsh.run(['suspend', id]);
  }

  async unpause(id: string): Promise<void> {
    const d = await this.mustExist(id);
    if (d.state !== 'paused') return;
    await this.virsh.run(['resume', id]);
  }

  async suspend(id: string): Promise<void> {
    const d = await this.mustExist(id);
    if (d.state === 'shut off' && d.managedSave) return;
    if (d.state === 'shut off') throw new DriverError('cannot suspend: the guest is shut off');
    await this.virsh.run(['managedsave', id], { timeoutMs: 300_000 });
  }

  async resume(id: string): Promise<void> {
    const d = await this.mustExist(id);
    if (d.state === 'paused') return void (await this.virsh.run(['resume', id]));
    if (d.state === 'shut off') await this.virsh.run(['start', id], { timeoutMs: 300_000 });
  }

  async snapshot(id: string): Promise<SnapshotResult> {
    const d = await this.mustExist(id);
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
    const d = await this.mustExist(id);
    const wasRunning = powerStateOf(d) === RUNNING;
    if (d.state !== 'shut off') await this.powerOff(id, { timeoutSeconds: 60 });
    const xml = await this.virsh.run(['dumpxml', id, '--inactive']);
    await this.virsh.withXml(['define'], withSize(xml, flavor.vcpus, flavor.ramMb, flavor));
    await growDisk(join(this.instanceDir(id), 'disk'), flavor.diskGb);
    if (wasRunning) await this.virsh.run(['start', id], { timeoutMs: 120_000 });
  }

  async rebuild(spec: InstanceSpec): Promise<InstanceInfo> {
    await this.mustExist(spec.id);
    // Same ports and addresses: the DHCP entries stay; disk, config drive and domain are made anew.
    await this.teardown(spec.id, spec.ports, true);
    return this.spawn(spec);
  }

  /**
   * Nova's rescue: the guest off, its definition kept as `domain.xml.orig` in the instance's folder, then
   * booted from `disk.rescue` (an overlay on the rescue image) with its own disk second. A failure puts the
   * original definition back (and the guest, if it ran).
   */
  async rescue(spec: InstanceSpec): Promise<InstanceInfo> {
    const d = await this.mustExist(spec.id);
    const dir = this.instanceDir(spec.id);
    const saved = join(dir, 'domain.xml.orig');
    const rescueDisk = join(dir, 'disk.rescue');
    // Rescuing a rescued guest keeps the first definition: the one unrescue goes back to.
    const rescued = await exists(saved);
    const original = rescued ? await readFile(saved, 'utf8') : await this.virsh.run(['dumpxml', spec.id, '--inactive']);
    const base = await this.images.fetch(spec.image);
    const wasRunning = powerStateOf(d) === RUNNING;
    await this.powerOff(spec.id, { timeoutSeconds: RESCUE_SHUTDOWN_SECONDS });
    try {
      if (d.managedSave) await this.virsh.run(['managedsave-remove', spec.id]);
      if (!rescued) await writeFile(saved, original, { mode: 0o600 });
      await rm(rescueDisk, { force: true });
      await createOverlay(rescueDisk, base, spec.image.diskFormat, 0, spec.image.name);
      await this.virsh.withXml(['define'], rescueXml(original, rescueDisk));
      await this.virsh.run(['start', spec.id], { timeoutMs: 120_000 });
    } catch (error) {
      if (!rescued) {
        await this.restoreOriginal(spec.id, original, wasRunning).catch((e: unknown) =>
          this.o.log?.warn('putting back the definition of a guest whose rescue failed', { id: spec.id, error: (e as Error).message }),
        );
      }
      throw error;
    }
    return this.running(spec.id);
  }

  /** Boots the guest's own disk again: the saved definition back, the rescue disk deleted. */
  async unrescue(id: string): Promise<InstanceInfo> {
    await this.mustExist(id);
    const saved = join(this.instanceDir(id), 'domain.xml.orig');
    if (await exists(saved)) await this.restoreOriginal(id, await readFile(saved, 'utf8'), true);
    else await this.powerOn(id);
    return this.running(id);
  }

  private async restoreOriginal(id: string, original: string, start: boolean): Promise<void> {
    await this.virsh.run(['destroy', id]).catch((e: unknown) => {
      if (!(e instanceof LibvirtError && /not running/i.test(e.message))) throw e;
    });
    await this.virsh.withXml(['define'], original);
    const dir = this.instanceDir(id);
    await rm(join(dir, 'disk.rescue'), { force: true });
    await rm(join(dir, 'domain.xml.orig'), { force: true });
    if (start) await this.virsh.run(['start', id], { timeoutMs: 120_000 });
  }

  private async running(id: string): Promise<InstanceInfo> {
    const info = await this.info(id);
    if (!info) throw new DriverError('the domain vanished right after it started');
    return info;
  }

  async consoles(id: string): Promise<ConsoleEndpoint[]> {
    await this.mustExist(id);
    const facts = await this.facts(id);
    const out: ConsoleEndpoint[] = [];
    for (const g of facts.graphics) if (g.port) out.push({ type: g.type, host: g.host, port: g.port });
    if (facts.serial?.type === 'tcp' && facts.serial.port) out.push({ type: 'serial', host: facts.serial.host ?? this.consoleHost, port: facts.serial.port });
    return out;
  }

  async consoleLog(id: string, lines?: number): Promise<string> {
    const path = join(this.instanceDir(id), 'console.log');
    if (!(await exists(path))) {
      if (!(await this.dominfo(id))) throw new InstanceNotFound(id);
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
