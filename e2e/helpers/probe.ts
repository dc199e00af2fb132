import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { AsterClient } from './api.ts';

const run = promisify(execFile);

/**
 * A probe on a tenant network (Neutron's `probe-create`): a port made through the API, plugged into this host's
 * integration bridge as a network namespace with a veth, so a test can send real traffic from inside a project
 * network. OVN treats it like a guest's port: port security, security groups, DHCP, routing.
 */
export class Probe {
  private constructor(
    readonly portId: string,
    readonly ip: string,
    readonly mac: string,
    readonly namespace: string,
    private readonly hostEnd: string,
    private readonly client: AsterClient,
  ) {}

  static async plug(client: AsterClient, options: { networkId: string; name: string; securityGroups?: string[]; portSecurityEnabled?: boolean }): Promise<Probe> {
    const port = await client.ports.create.mutate({
      networkId: options.networkId,
      name: options.name,
      ...(options.securityGroups ? { securityGroups: options.securityGroups } : {}),
      ...(options.portSecurityEnabled !== undefined ? { portSecurityEnabled: options.portSecurityEnabled } : {}),
    });
    const subnet = (await client.subnets.get.query({ id: port.subnetId }));
    const prefix = subnet.cidr.split('/')[1]!;
    const tag = port.id.replace(/-/g, '').slice(0, 10);
    const namespace = `aprobe-${tag}`;
    const hostEnd = `pr${tag}`;
    const inside = `pq${tag}`;
    const sh = async (...args: string[]) => run(args[0]!, args.slice(1));
    await sh('ip', 'netns', 'add', namespace);
    await sh('ip', 'link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', inside);
    await sh('ip', 'link', 'set', inside, 'netns', namespace);
    await sh('ip', 'netns', 'exec', namespace, 'ip', 'link', 'set', inside, 'address', port.macAddress);
    await sh('ip', 'netns', 'exec', namespace, 'ip', 'addr', 'add', `${port.ip}/${prefix}`, 'dev', inside);
    await sh('ip', 'netns', 'exec', namespace, 'ip', 'link', 'set', inside, 'up');
    await sh('ip', 'netns', 'exec', namespace, 'ip', 'link', 'set', 'lo', 'up');
    if (subnet.gateway) await sh('ip', 'netns', 'exec', namespace, 'ip', 'route', 'add', 'default', 'via', subnet.gateway);
    await sh('ip', 'link', 'set', hostEnd, 'up');
    await sh('ovs-vsctl', '--', '--may-exist', 'add-port', 'br-int', hostEnd, '--', 'set', 'Interface', hostEnd, `external_ids:iface-id=${port.id}`);
    return new Probe(port.id, port.ip, port.macAddress, namespace, hostEnd, client);
  }

  /** Runs a command inside the probe's namespace; answers its exit code and output. */
  async exec(args: string[], timeoutMs = 10_000): Promise<{ code: number; out: string }> {
    try {
      const { stdout, stderr } = await run('ip', ['netns', 'exec', this.namespace, ...args], { timeout: timeoutMs });
      return { code: 0, out: stdout + stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, out: (e.stdout ?? '') + (e.stderr ?? '') };
    }
  }

  /** What a TCP connection to ip:port reads within `timeoutMs`, or null when it does not connect. */
  async tcp(ip: string, port: number, timeoutMs = 1500): Promise<string | null> {
    const script = `const s=require('net').connect(${port},'${ip}');let b='';s.on('data',d=>b+=d);s.on('end',()=>{process.stdout.write(b);process.exit(0)});s.on('error',()=>process.exit(3));setTimeout(()=>{process.stdout.write(b);process.exit(b?0:4)},${timeoutMs});`;
    const r = await this.exec([process.execPath, '-e', script], timeoutMs + 5000);
    return r.code === 0 ? r.out : null;
  }

  async ping(ip: string): Promise<boolean> {
    return (await this.exec(['ping', '-c', '1', '-W', '1', ip])).code === 0;
  }

  /** Moves the probe to another address on its interface (what a guest forging its source would do). */
  async changeAddress(ip: string, prefix: number): Promise<void> {
    const dev = `pq${this.portId.replace(/-/g, '').slice(0, 10)}`;
    await this.exec(['ip', 'addr', 'flush', 'dev', dev]);
    await this.exec(['ip', 'addr', 'add', `${ip}/${prefix}`, 'dev', dev]);
  }

  /** Gives the probe's interface another MAC (what a guest forging its link address would do). */
  async changeMac(mac: string): Promise<void> {
    const dev = `pq${this.portId.replace(/-/g, '').slice(0, 10)}`;
    await this.exec(['ip', 'link', 'set', 'dev', dev, 'address', mac]);
  }

  async remove(): Promise<void> {
    await run('ovs-vsctl', ['--if-exists', 'del-port', 'br-int', this.hostEnd]).catch(() => undefined);
    await run('ip', ['link', 'del', this.hostEnd]).catch(() => undefined);
    await run('ip', ['netns', 'del', this.namespace]).catch(() => undefined);
    await this.client.ports.delete.mutate({ id: this.portId }).catch(() => undefined);
  }
}

/** Polls `check` until it answers `want`; answers how long that took, ms (or throws after `timeoutMs`). */
export async function within(check: () => Promise<boolean>, want: boolean, timeoutMs: number, what: string): Promise<number> {
  const began = Date.now();
  for (;;) {
    if ((await check()) === want) return Date.now() - began;
    if (Date.now() - began > timeoutMs) throw new Error(`${what}: still ${!want} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
