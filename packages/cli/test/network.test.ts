import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultApiConfig } from '@aster/api';
import { useTestDatabase } from '@aster/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../../apps/api/src/http.ts';
import { computeStack, type ComputeStack } from '../../api/test/compute-harness.ts';
import { ADMIN_PASSWORD, silentLog } from '../../api/test/harness.ts';
import { runAster } from './run.ts';

const db = useTestDatabase();
let stack: ComputeStack;
let http: Server;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'aster-cli-net-'));
const home = join(dir, 'home');

beforeAll(async () => {
  stack = await computeStack(db);
  await stack.addHost('cli-net-host');
  await stack.image('tiny');
  const config = { ...defaultApiConfig, imageDir: join(dir, 'images') };
  http = createServer(createApiHandler({ db: db.pool, log: silentLog, config, jobs: stack.jobs, changes: stack.changes }));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  http?.closeAllConnections();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const aster = (args: string[], input?: string) => runAster(args, { HOME: home, ASTER_URL: url }, input);
/** A command that must succeed: its stdout (parsed when --json was given). */
async function ok(args: string[]): Promise<string> {
  const r = await aster(args);
  expect({ args: args.join(' '), code: r.code, stderr: r.stderr }).toEqual({ args: args.join(' '), code: 0, stderr: '' });
  return r.stdout;
}
const okJson = async <T>(args: string[]) => JSON.parse(await ok([...args, '--json'])) as T;

describe('the aster command on tenant networking', { timeout: 180_000 }, () => {
  it('builds a network, a router to public, a server with a security group and a floating IP, and takes them apart', async () => {
    expect((await aster(['login'], `admin\n${ADMIN_PASSWORD}\n`)).code).toBe(0);

    const web = await okJson<{ id: string; subnets: { cidr: string; gateway: string; dnsServers: string[] }[] }>(['network', 'create', 'web', '--subnet', '10.30.0.0/24', '--dns', '10.30.0.53']);
    expect(web.subnets).toEqual([expect.objectContaining({ cidr: '10.30.0.0/24', gateway: '10.30.0.1', dnsServers: ['10.30.0.53'] })]);
    const list = await ok(['network', 'list']);
    expect(list).toMatch(new RegExp(`^${web.id} +web +10\\.30\\.0\\.0/24 +no +no +\\d+$`, 'm'));
    expect(list).toMatch(/ public +192\.168\.122\.0\/24 +yes +yes +\d+$/m);
    expect(await ok(['network', 'show', 'web'])).toMatch(/^subnets +10\.30\.0\.0\/24 +gateway 10\.30\.0\.1 +dhcp on/m);

    await ok(['subnet', 'create', '--network', 'web', '--cidr', '10.30.1.0/24', '--name', 'web-b', '--no-dhcp']);
    expect(await ok(['subnet', 'list', '--network', 'web'])).toMatch(/ web-b +web +10\.30\.1\.0\/24 +10\.30\.1\.1 +off +\d+$/m);
    expect(await aster(['subnet', 'show', 'web'])).toMatchObject({ code: 1, stderr: 'aster: Network web has 2 subnets; name one: 10.30.0.0/24, web-b\n' });
    expect(await ok(['subnet', 'show', 'web-b'])).toMatch(/^dhcp +off$/m);

    await ok(['security-group', 'create', 'ssh', '--description', 'shell access']);
    expect(await ok(['security-group', 'rule-add', 'ssh', '--protocol', 'tcp', '--port', '22-23', '--remote-ip', '0.0.0.0/0'])).toMatch(/ ingress +IPv4 +tcp +22-23 +0\.0\.0\.0\/0$/m);
    expect(await ok(['security-group', 'rule-add', 'ssh', '--protocol', 'icmp', '--remote-group', 'default'])).toMatch(/ ingress +IPv4 +icmp +any +group default$/m);
    const ssh = await okJson<{ id: string; rules: { id: string; protocol: string | null }[] }>(['security-group', 'show', 'ssh']);
    expect(ssh.rules.map((r) => r.protocol).sort()).toEqual(['icmp', 'tcp', null].sort());
    expect(await ok(['security-group', 'list'])).toMatch(new RegExp(`^${ssh.id} +ssh +3 +shell access$`, 'm'));
    const icmp = ssh.rules.find((r) => r.protocol === 'icmp')!;
    expect(await ok(['security-group', 'rule-delete', icmp.id])).toBe(`Deleted rule ${icmp.id}\n`);

    expect(await ok(['router', 'create', 'r1', '--external-gateway', 'public'])).toMatch(/^external gateway +public 192\.168\.122\.\d+$/m);
    expect(await ok(['router', 'add-interface', 'r1', '10.30.0.0/24'])).toMatch(/^interfaces +10\.30\.0\.1 on web 10\.30\.0\.0\/24/m);
    expect(await ok(['router', 'list'])).toMatch(/ r1 +public 192\.168\.122\.\d+ +web 10\.30\.0\.0\/24$/m);
    expect(await aster(['router', 'show', 'r2'])).toMatchObject({ code: 1, stderr: 'aster: No router named r2; routers: r1\n' });

    const server = await okJson<{ id: string; status: string; ports: { networkName: string; ip: string; securityGroups: { name: string }[] }[] }>([
      'server', 'create', '--name', 'net-one', '--image', 'tiny', '--flavor', 'm1.tiny', '--network', 'web', '--security-group', 'ssh', '--wait',
    ]);
    expect(server).toMatchObject({ status: 'ACTIVE', ports: [{ networkName: 'web', securityGroups: [{ name: 'ssh' }] }] });
    expect(await aster(['server', 'create', '--name', 'net-no', '--image', 'tiny', '--flavor', 'm1.tiny', '--security-group', 'nope'])).toMatchObject({
      code: 1,
      stderr: 'aster: No security group named nope; security groups: default, ssh\n',
    });

    const fip = await okJson<{ id: string; floatingIp: string; fixedIp: string; server: { name: string } }>(['floating-ip', 'create', 'public', '--server', 'net-one']);
    expect(fip).toMatchObject({ fixedIp: server.ports[0]!.ip, server: { name: 'net-one' } });
    expect(await ok(['floating-ip', 'list'])).toMatch(new RegExp(`^${fip.id} +${fip.floatingIp.replace(/\./g, '\\.')} +public +${server.ports[0]!.ip.replace(/\./g, '\\.')} +net-one `, 'm'));
    expect(await ok(['floating-ip', 'disassociate', fip.floatingIp])).toMatch(/^server +-$/m);
    expect(await ok(['floating-ip', 'associate', fip.floatingIp, 'net-one'])).toMatch(/^server +net-one \(/m);
    // A server on no network the router joins: the API says why, and the new floating IP is released again.
    const before = (await okJson<unknown[]>(['floating-ip', 'list'])).length;
    const pub = await okJson<{ id: string }>(['server', 'create', '--name', 'net-pub', '--image', 'tiny', '--flavor', 'm1.tiny', '--network', 'public', '--wait']);
    const refused = await aster(['floating-ip', 'create', 'public', '--server', 'net-pub']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^Floating IP \S+ was released\.\naster: no router joins a network of server net-pub \(public\) to public/);
    expect((await okJson<unknown[]>(['floating-ip', 'list'])).length).toBe(before);

    const port = await okJson<{ id: string; portSecurityEnabled: boolean; securityGroupIds: string[] }>(['port', 'create', '--network', 'web', '--name', 'p1', '--no-port-security']);
    expect(port).toMatchObject({ portSecurityEnabled: false, securityGroupIds: [] });
    const updated = await ok(['port', 'update', 'p1', '--port-security', '--security-group', 'ssh', '--allowed-address', '10.30.0.200']);
    expect(updated).toMatch(/^port security +on$/m);
    expect(updated).toMatch(/^security groups +ssh$/m);
    expect(updated).toMatch(/^allowed addresses +10\.30\.0\.200$/m);
    expect(await ok(['port', 'list', '--network', 'web'])).toMatch(new RegExp(`^${port.id} +p1 +web `, 'm'));
    expect(await ok(['port', 'list', '--server', 'net-one'])).toMatch(/ net-one$/m);
    expect(await ok(['port', 'delete', 'p1'])).toBe(`Deleted port p1 (${port.id})\n`);

    // In use: the API names what holds it.
    expect((await aster(['security-group', 'delete', 'ssh'])).code).toBe(1);
    expect(await ok(['floating-ip', 'delete', fip.floatingIp])).toBe(`Released floating IP ${fip.floatingIp} (${fip.id})\n`);
    await ok(['server', 'delete', 'net-one', pub.id, '--wait']);
    await ok(['router', 'remove-interface', 'r1', '10.30.0.0/24']);
    expect(await ok(['router', 'clear-gateway', 'r1'])).toMatch(/^external gateway +-$/m);
    await ok(['router', 'delete', 'r1']);
    await ok(['security-group', 'delete', 'ssh']);
    await ok(['subnet', 'delete', 'web-b']);
    expect(await ok(['network', 'delete', 'web'])).toBe(`Deleted network web (${web.id})\n`);
    expect(await aster(['network', 'show', 'web'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^aster: No network named web; networks: public\n$/) });
  });

  it('creates a shared external network on a physical network with the administrators’ flags', async () => {
    const ext = await okJson<{ external: boolean; physicalNetwork: string; shared: boolean }>(['network', 'create', 'ext2', '--external', '--physical-network', 'ext2', '--shared', '--subnet', '172.16.9.0/24']);
    expect(ext).toMatchObject({ external: true, physicalNetwork: 'ext2', shared: true });
    await ok(['network', 'delete', 'ext2']);
  });
});
