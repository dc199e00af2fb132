import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AsterClient } from '@aster/client';
import { run } from '../ovn.ts';

/**
 * Probes (Neutron's `probe-create`) for the network benchmark: a port made through the API and plugged into this
 * host's integration bridge as a network namespace with a veth (`external_ids:iface-id` = the port id), so OVN
 * binds it like a guest's port. Every name starts with a prefix of this run, so whatever a failure leaves behind
 * is found and removed by `sweep`.
 */

/** Namespaces are `<prefix>-<tag>`, host veth ends `<short>h<tag>`, inner ends `<short>i<tag>` (≤ 15 characters). */
export const PREFIX = 'anbench';
const SHORT = 'nb';

export async function must(command: string, ...args: string[]): Promise<string> {
  const r = await run(command, args);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** A namespace with one veth, its host end either in br-int (an OVN port) or in a Linux bridge. */
export class Namespace {
  readonly name: string;
  readonly hostEnd: string;
  readonly inside: string;
  private readonly children = new Set<ChildProcess>();

  constructor(readonly tag: string) {
    this.name = `${PREFIX}-${tag}`;
    this.hostEnd = `${SHORT}h${tag}`;
    this.inside = `${SHORT}i${tag}`;
  }

  /** Makes the namespace and veth, the inner end with `mac` and `cidrIp` ("10.0.0.5/24"), and a default route. */
  async create(opts: { mac?: string; address: string; gateway?: string | null }): Promise<void> {
    await must('ip', 'netns', 'add', this.name);
    await must('ip', 'link', 'add', this.hostEnd, 'type', 'veth', 'peer', 'name', this.inside, 'netns', this.name);
    const inNs = (...args: string[]) => must('ip', '-n', this.name, ...args);
    if (opts.mac) await inNs('link', 'set', this.inside, 'address', opts.mac);
    await inNs('addr', 'add', opts.address, 'dev', this.inside);
    await inNs('link', 'set', this.inside, 'up');
    await inNs('link', 'set', 'lo', 'up');
    if (opts.gateway) await inNs('route', 'add', 'default', 'via', opts.gateway);
    await must('ip', 'link', 'set', this.hostEnd, 'up');
  }

  /** Plugs the host end into br-int as the interface of OVN port `portId`. */
  plugOvn(portId: string): Promise<string> {
    return must('ovs-vsctl', '--timeout=20', '--', '--may-exist', 'add-port', 'br-int', this.hostEnd, '--', 'set', 'Interface', this.hostEnd, `external_ids:iface-id=${portId}`);
  }

  /** A long-running Node process inside the namespace; its stdout lines go to `onLine`. */
  spawnNode(script: string, onLine: (line: string) => void, args: string[] = []): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, process.execPath, '-e', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    createInterface({ input: child.stdout! }).on('line', onLine);
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
    child.on('exit', (code, signal) => {
      if (code && code !== 0 && signal === null) process.stderr.write(`a process in ${this.name} exited ${code}: ${err.trim()}\n`);
    });
    return child;
  }

  async remove(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    await run('ovs-vsctl', ['--timeout=20', '--if-exists', 'del-port', 'br-int', this.hostEnd]);
    await run('ip', ['link', 'del', this.hostEnd]);
    await run('ip', ['netns', 'del', this.name]);
  }
}

/** A probe: a port of `networkId` made through the API and plugged into br-int. */
export class Probe {
  private constructor(
    readonly portId: string,
    readonly ip: string,
    readonly ns: Namespace,
    private readonly client: AsterClient,
  ) {}

  static async create(client: AsterClient, options: { networkId: string; name: string; securityGroups?: string[] }): Promise<Probe> {
    const port = await client.ports.create.mutate({ networkId: options.networkId, name: options.name, ...(options.securityGroups ? { securityGroups: options.securityGroups } : {}) });
    return Probe.plugPort(client, port);
  }

  /** Plugs an existing port (as `ports.create` answered it). */
  static async plugPort(client: AsterClient, port: { id: string; ip: string; macAddress: string; subnetId: string }): Promise<Probe> {
    const subnet = await client.subnets.get.query({ id: port.subnetId });
    const ns = new Namespace(port.id.replace(/-/g, '').slice(0, 8));
    const probe = new Probe(port.id, port.ip, ns, client);
    try {
      await ns.create({ mac: port.macAddress, address: `${port.ip}/${subnet.cidr.split('/')[1]}`, gateway: subnet.gateway });
      await ns.plugOvn(port.id);
    } catch (error) {
      await probe.remove();
      throw error;
    }
    return probe;
  }

  /** Unplugs and deletes the port (a port already gone is no failure). */
  async remove(): Promise<void> {
    await this.ns.remove();
    await this.client.ports.delete.mutate({ id: this.portId }).catch(() => undefined);
  }
}

/** Removes every namespace, veth, br-int port and bridge this benchmark's prefix names (left by any run). */
export async function sweep(): Promise<number> {
  let removed = 0;
  const ovsPorts = (await run('ovs-vsctl', ['--timeout=20', 'list-ports', 'br-int'])).stdout.split('\n').filter((p) => p.startsWith(`${SHORT}h`));
  for (const p of ovsPorts) {
    await run('ovs-vsctl', ['--timeout=20', '--if-exists', 'del-port', 'br-int', p]);
    removed++;
  }
  for (const link of readdirSync('/sys/class/net')) {
    if (link.startsWith(`${SHORT}h`) || link.startsWith(`${SHORT}br`)) {
      await run('ip', ['link', 'del', link]);
      removed++;
    }
  }
  const namespaces = (await run('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`${PREFIX}-`));
  for (const n of namespaces) {
    await run('ip', ['netns', 'del', n]);
    removed++;
  }
  return removed;
}

/** The Linux bridge of the baseline: `<short>br<tag>`. */
export const bridgeName = (tag: string) => `${SHORT}br${tag}`;
