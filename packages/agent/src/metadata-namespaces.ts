import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@aster/log';

/** A network's metadata port (device_owner network:distributed): its LSP is an OVN localport on every host. */
export interface MetadataPort {
  portId: string;
  mac: string;
  ip: string;
  prefixLength: number;
}

/** What the namespaces need of a guest port (the libvirt driver's port record has it). */
export interface NetworkPort {
  networkId: string;
  metadata: MetadataPort | null;
}

export interface MetadataNamespacesOptions {
  /** The Open vSwitch integration bridge (br-int). */
  bridge: string;
  /** The agent's metadata proxy's unix socket, which the forwarders hand requests to. */
  socketPath: string;
  /** Open vSwitch's database (`ovs-vsctl --db`), when not the host's default. */
  ovsDb?: string;
  /**
   * Written on the metadata ports' OVS interfaces (`external_ids:aster-owner`): at start only namespaces whose
   * port says this are removed, so agents sharing one machine (several clouds, or hosts) leave each other's alone.
   */
  owner: string;
  log: Pick<Logger, 'info' | 'warn'>;
  /** Where the forwarder listens inside the namespace; 169.254.169.254:80 unless a test says otherwise. */
  listen?: { address: string; port: number };
}

export const NAMESPACE_PREFIX = 'ovnmeta-';
const METADATA_ADDRESS = '169.254.169.254';
const FORWARDER = fileURLToPath(new URL('./metadata-forwarder.mjs', import.meta.url));

/** The namespace and the veth ends of a network: the host end is named from the network id, within 15 characters. */
export function namespaceNames(networkId: string): { namespace: string; hostDev: string; peerDev: string } {
  const hex = networkId.replaceAll('-', '').slice(0, 11);
  return { namespace: `${NAMESPACE_PREFIX}${networkId}`, hostDev: `tap${hex}`, peerDev: `mdn${hex}` };
}

class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
  ) {
    super(`${command} failed: ${stderr.trim() || 'no message'}`);
  }
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new CommandError(`${command} ${args.join(' ')}`, stderr || error.message));
      else resolve(stdout);
    });
  });
}

type Network = { port: MetadataPort; instances: Set<string>; forwarder: ChildProcess | null };

/**
 * The metadata path of project networks on this host (OVN's metadata agent): for each network with a guest
 * here, a namespace `ovnmeta-<network id>` holding the network's metadata port (a veth whose host end is in
 * br-int with the port's id as iface-id, so OVN binds the localport here) with 169.254.169.254 beside the
 * port's own address, and a forwarder process in it that hands guests' requests to the agent's proxy,
 * naming the network and the source address. OVN's port security keeps guests from forging the source. The
 * last guest of a network leaving takes the namespace, the veth and the forwarder with it. Changes are made
 * one at a time.
 */
export class MetadataNamespaces {
  private readonly networks = new Map<string, Network>();
  private readonly byInstance = new Map<string, Set<string>>();
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: MetadataNamespacesOptions) {}

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.catch(() => {}).then(fn);
    this.chain = next;
    return next;
  }

  private vsctl(args: string[]): Promise<string> {
    return run('ovs-vsctl', [...(this.o.ovsDb ? [`--db=${this.o.ovsDb}`] : []), '--timeout=10', ...args]);
  }

  /** The networks whose namespace is set up here, with the instances that need it. */
  active(): Map<string, string[]> {
    return new Map([...this.networks].map(([id, n]) => [id, [...n.instances]]));
  }

  /** The instance's ports on these networks are plugged here: each network's path is made if it has none yet. */
  plug(instanceId: string, ports: NetworkPort[]): Promise<void> {
    return this.serially(() => this.plugNow(instanceId, ports));
  }

  private async plugNow(instanceId: string, ports: NetworkPort[]): Promise<void> {
    for (const p of ports) {
      if (!p.metadata) {
        this.o.log.warn('network has no metadata port: its guests on this host get no metadata service', { networkId: p.networkId, instanceId });
        continue;
      }
      const ids = this.byInstance.get(instanceId) ?? new Set<string>();
      ids.add(p.networkId);
      this.byInstance.set(instanceId, ids);
      const known = this.networks.get(p.networkId);
      if (known && known.port.portId === p.metadata.portId && known.forwarder) {
        known.instances.add(instanceId);
        continue;
      }
      const network: Network = known ?? { port: p.metadata, instances: new Set(), forwarder: null };
      network.port = p.metadata;
      network.instances.add(instanceId);
      this.networks.set(p.networkId, network);
      await this.ensure(p.networkId, network);
    }
  }

  /** The instance's ports left this host: a network none of its guests here needs any more is torn down. */
  unplug(instanceId: string): Promise<void> {
    return this.serially(async () => {
      const ids = this.byInstance.get(instanceId);
      this.byInstance.delete(instanceId);
      for (const networkId of ids ?? []) {
        const network = this.networks.get(networkId);
        if (!network) continue;
        network.instances.delete(instanceId);
        if (network.instances.size) continue;
        this.networks.delete(networkId);
        await this.teardown(networkId, network);
      }
    });
  }

  /**
   * At start: the paths of the networks these guests are on are made or taken over (a forwarder left by an
   * earlier agent is replaced), and this owner's namespaces `ovnmeta-*` that no guest here needs are removed.
   */
  async adopt(guests: { instanceId: string; ports: NetworkPort[] }[]): Promise<void> {
    for (const g of guests) await this.plug(g.instanceId, g.ports);
    await this.serially(async () => {
      for (const namespace of await this.namespaces()) {
        const networkId = namespace.slice(NAMESPACE_PREFIX.length);
        if (this.networks.has(networkId) || (await this.ownerOf(networkId)) !== this.o.owner) continue;
        this.o.log.info('removing the metadata namespace of a network no guest here is on', { namespace });
        await this.teardown(networkId, null);
      }
    });
  }

  /** The agent stops: its forwarders end; namespaces stay for the guests, and the next start takes them over. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.serially(async () => {
      for (const n of this.networks.values()) await stopProcess(n.forwarder);
    });
  }

  /** Who set up a network's path here, as its OVS interface says; null when it has none. */
  private async ownerOf(networkId: string): Promise<string | null> {
    const { hostDev } = namespaceNames(networkId);
    const out = await this.vsctl(['--if-exists', 'get', 'Interface', hostDev, 'external_ids:aster-owner']).catch(() => '');
    const value = out.trim();
    if (!value) return null;
    try {
      return JSON.parse(value) as string;
    } catch {
      return value;
    }
  }

  /** Namespaces named ovnmeta-* on this machine. */
  async namespaces(): Promise<string[]> {
    const out = await run('ip', ['netns', 'list']);
    return out
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0] ?? '')
      .filter((n) => n.startsWith(NAMESPACE_PREFIX));
  }

  /** Makes whatever is missing of a network's path; each step is idempotent. */
  private async ensure(networkId: string, network: Network): Promise<void> {
    const { namespace, hostDev, peerDev } = namespaceNames(networkId);
    const m = network.port;
    if (!(await this.namespaces()).includes(namespace)) await run('ip', ['netns', 'add', namespace]);
    const hostExists = await run('ip', ['link', 'show', 'dev', hostDev]).then(
      () => true,
      () => false,
    );
    if (!hostExists) {
      // A namespace end left from a half-made path is removed before the pair is made again.
      await run('ip', ['-n', namespace, 'link', 'del', peerDev]).catch(() => {});
      await run('ip', ['link', 'add', hostDev, 'type', 'veth', 'peer', 'name', peerDev, 'netns', namespace]);
    }
    const inNs = (...args: string[]) => run('ip', ['-n', namespace, ...args]);
    await inNs('link', 'set', peerDev, 'address', m.mac);
    await inNs('addr', 'replace', `${m.ip}/${m.prefixLength}`, 'dev', peerDev);
    await inNs('addr', 'replace', `${METADATA_ADDRESS}/32`, 'dev', peerDev);
    await inNs('link', 'set', 'lo', 'up');
    await inNs('link', 'set', peerDev, 'up');
    await run('ip', ['link', 'set', hostDev, 'up']);
    await this.vsctl([
      '--may-exist', 'add-port', this.o.bridge, hostDev,
      '--', 'set', 'Interface', hostDev, `external_ids:iface-id=${m.portId}`, `external_ids:aster-owner=${JSON.stringify(this.o.owner)}`,
    ]);
    if (!network.forwarder) {
      await killIn(namespace); // an earlier agent's forwarder holds the address
      network.forwarder = await this.startForwarder(networkId, namespace);
    }
    this.o.log.info('metadata namespace ready', { networkId, namespace, port: m.portId, address: `${m.ip}/${m.prefixLength}` });
  }

  private async startForwarder(networkId: string, namespace: string): Promise<ChildProcess> {
    const listen = this.o.listen ?? { address: METADATA_ADDRESS, port: 80 };
    const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, FORWARDER, this.o.socketPath, networkId, listen.address, String(listen.port)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-2000)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error('did not listen within 10 s')), 10_000);
      const fail = (error: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`the metadata forwarder in ${namespace} failed: ${error.message} ${stderr.trim()}`.trim()));
      };
      child.once('error', fail);
      child.once('exit', (code) => fail(new Error(`exited with ${code}`)));
      child.stdout.setEncoding('utf8').once('data', () => {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        resolve();
      });
    });
    child.stdout.resume();
    // A forwarder that dies while its network is still wanted is started again.
    child.once('exit', (code, signal) => {
      const network = this.networks.get(networkId);
      if (this.stopped || !network || network.forwarder !== child) return;
      network.forwarder = null;
      this.o.log.warn('the metadata forwarder ended; starting it again', { networkId, code, signal, stderr: stderr.trim() });
      setTimeout(() => {
        if (this.stopped || this.networks.get(networkId) !== network) return;
        void this.serially(() => this.ensure(networkId, network)).catch((error: unknown) => this.o.log.warn('restarting a metadata forwarder failed', { networkId, error }));
      }, 1000).unref();
    });
    return child;
  }

  /** Removes a network's forwarder, OVS port, veth and namespace; missing pieces are fine. */
  private async teardown(networkId: string, network: Network | null): Promise<void> {
    const { namespace, hostDev } = namespaceNames(networkId);
    const forwarder = network?.forwarder ?? null;
    if (network) network.forwarder = null;
    await stopProcess(forwarder);
    await killIn(namespace);
    await this.vsctl(['--if-exists', 'del-port', this.o.bridge, hostDev]).catch((error: unknown) =>
      this.o.log.warn('removing a metadata port from the bridge failed', { networkId, error: (error as Error).message }),
    );
    await run('ip', ['link', 'del', hostDev]).catch(() => {});
    await run('ip', ['netns', 'del', namespace]).catch((error: unknown) => {
      if (!/No such file|not exist/i.test((error as Error).message)) throw error;
    });
    this.o.log.info('metadata namespace removed', { networkId, namespace });
  }
}

async function stopProcess(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** Ends every process left in the namespace (a forwarder of an earlier agent), and waits for them to be gone. */
async function killIn(namespace: string): Promise<void> {
  const pids = async () =>
    (await run('ip', ['netns', 'pids', namespace]).catch(() => ''))
      .split('\n')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  for (let round = 0; round < 30; round++) {
    const left = await pids();
    if (!left.length) return;
    for (const pid of left) {
      try {
        process.kill(pid, round < 20 ? 'SIGTERM' : 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
