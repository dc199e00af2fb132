import type { AsterClient } from '@aster/client';
import { defineCommand, required, type Ctx } from '../command.ts';
import { dash, fields, table } from '../output.ts';
import { networkId, portId, securityGroupId, serverId, subnetId } from '../resolve.ts';

type Port = Awaited<ReturnType<AsterClient['ports']['get']['query']>>;

/**
 * An allowed address pair: `IP[/PREFIX]`, `IP,MAC`, or OpenStack's `ip-address=IP[,mac-address=MAC]`;
 * undefined when it is none of those.
 */
export function parseAllowedAddress(text: string): { ipAddress: string; macAddress?: string } | undefined {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length > 2 || !parts[0]) return undefined;
  const keyed = parts.map((p) => /^(ip-address|mac-address)=(.+)$/.exec(p));
  if (keyed.every((k) => k)) {
    const ip = keyed.find((k) => k![1] === 'ip-address')?.[2];
    const mac = keyed.find((k) => k![1] === 'mac-address')?.[2];
    if (!ip || (parts.length === 2 && !mac)) return undefined;
    return { ipAddress: ip, ...(mac ? { macAddress: mac } : {}) };
  }
  if (keyed.some((k) => k)) return undefined;
  return { ipAddress: parts[0], ...(parts[1] ? { macAddress: parts[1] } : {}) };
}

function allowedAddresses(ctx: Ctx, values: string[] | undefined) {
  return values?.map((v) => parseAllowedAddress(v) ?? (() => { throw ctx.usage(`--allowed-address takes IP[/PREFIX][,MAC] (got ${v})`); })());
}

async function groupNames(client: AsterClient): Promise<Map<string, string>> {
  return new Map((await client.securityGroups.list.query()).map((g) => [g.id, g.name]));
}

function portFields(p: Port, groups: Map<string, string>): string {
  return fields([
    ['id', p.id],
    ['name', dash(p.name)],
    ['network', `${p.networkName} (${p.networkId})`],
    ['fixed ip', `${p.ip} (subnet ${p.subnetId})`],
    ['mac address', p.macAddress],
    ['status', p.status],
    ['admin state', p.adminStateUp ? 'up' : 'down'],
    ['device owner', dash(p.deviceOwner)],
    ['server', p.server ? `${p.server.name} (${p.server.id})` : '-'],
    ['host', dash(p.host)],
    ['port security', p.portSecurityEnabled ? 'on' : 'off'],
    ['security groups', p.securityGroupIds.map((id) => groups.get(id) ?? id).join(', ') || '-'],
    ['allowed addresses', p.allowedAddressPairs.map((a) => `${a.ipAddress}${a.macAddress ? ` ${a.macAddress}` : ''}`).join('\n') || '-'],
    ['floating ip', p.floatingIp?.ip ?? '-'],
    ['created', p.createdAt],
  ]);
}

async function printPort(ctx: Ctx, client: AsterClient, port: Port) {
  if (ctx.json) return ctx.printJson(port);
  ctx.print(portFields(port, await groupNames(client)));
}

export const portList = defineCommand({
  name: 'port list',
  usage: '[--network NETWORK] [--server SERVER]',
  summary: "Lists the project's ports.",
  help: `Options:
  --network NETWORK   only the ports on this network (by name or id)
  --server SERVER     only this server's ports (by name or id)`,
  options: { network: { type: 'string' }, server: { type: 'string' } },
  async run(ctx, values) {
    const { client } = await ctx.client();
    const [network, server] = await Promise.all([
      values.network !== undefined ? networkId(client, values.network) : undefined,
      values.server !== undefined ? serverId(client, values.server) : undefined,
    ]);
    const ports = await client.ports.list.query({ ...(network ? { networkId: network } : {}), ...(server ? { serverId: server } : {}) });
    if (ctx.json) return ctx.printJson(ports);
    ctx.print(
      table(
        ['ID', 'NAME', 'NETWORK', 'FIXED IP', 'MAC', 'STATUS', 'OWNER', 'SERVER'],
        ports.map((p) => [p.id, dash(p.name), p.networkName, p.ip, p.macAddress, p.status, dash(p.deviceOwner), dash(p.server?.name)]),
      ),
    );
  },
});

export const portShow = defineCommand({
  name: 'port show',
  usage: '<port>',
  summary: 'Shows one port (by id, name or fixed IP).',
  args: { min: 1, max: 1 },
  async run(ctx, _values, [ref]) {
    const { client } = await ctx.client();
    await printPort(ctx, client, await client.ports.get.query({ id: await portId(client, ref!) }));
  },
});

const securityHelp = `  --security-group GROUP  a security group of the project (by name or id; repeat for several)
  --no-port-security      no port security: no security groups, any source address`;

export const portCreate = defineCommand({
  name: 'port create',
  usage: '--network NETWORK [--name NAME] [--subnet SUBNET] [--ip IP] [--security-group GROUP]... [--no-port-security] [--allowed-address IP[,MAC]]...',
  summary: 'Creates a port on a network (a server can be launched on it, or a floating IP given to it).',
  help: `Options:
  --network NETWORK       the network (by name or id)
  --name NAME             a name for it
  --subnet SUBNET         the subnet its fixed IP comes from (default: the network's first with room)
  --ip IP                 its fixed IP (default: the next free one)
  --mac MAC               its MAC address (default: a new one)
${securityHelp}
  --allowed-address ADDR  another address (IP, IP/PREFIX, or IP,MAC) the port may send from (repeat for several)
  --disable               create it administratively down`,
  options: {
    network: { type: 'string' },
    name: { type: 'string' },
    subnet: { type: 'string' },
    ip: { type: 'string' },
    mac: { type: 'string' },
    'security-group': { type: 'string', multiple: true },
    'no-port-security': { type: 'boolean' },
    'allowed-address': { type: 'string', multiple: true },
    disable: { type: 'boolean' },
  },
  async run(ctx, values) {
    const networkRef = required(ctx, values.network, '--network');
    const pairs = allowedAddresses(ctx, values['allowed-address']);
    const { client } = await ctx.client();
    const [network, subnet, groups] = await Promise.all([
      networkId(client, networkRef),
      values.subnet !== undefined ? subnetId(client, values.subnet) : undefined,
      values['security-group'] ? Promise.all(values['security-group'].map((g) => securityGroupId(client, g))) : undefined,
    ]);
    const port = await client.ports.create.mutate({
      networkId: network,
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(subnet !== undefined || values.ip !== undefined ? { fixedIp: { ...(subnet ? { subnetId: subnet } : {}), ...(values.ip ? { ip: values.ip } : {}) } } : {}),
      ...(values.mac !== undefined ? { macAddress: values.mac } : {}),
      ...(groups ? { securityGroups: groups } : {}),
      ...(values['no-port-security'] ? { portSecurityEnabled: false } : {}),
      ...(pairs ? { allowedAddressPairs: pairs } : {}),
      ...(values.disable ? { adminStateUp: false } : {}),
    });
    await printPort(ctx, client, port);
  },
});

export const portUpdate = defineCommand({
  name: 'port update',
  usage: '<port> [--name NAME] [--security-group GROUP]... [--no-security-group] [--port-security | --no-port-security] [--allowed-address IP[,MAC]]... [--no-allowed-address]',
  summary: "Changes a port's name, security groups, port security or allowed addresses.",
  help: `Options (each list given replaces the port's):
  --name NAME             a new name
${securityHelp}
  --no-security-group     take every security group off the port
  --port-security         turn port security on
  --allowed-address ADDR  another address (IP, IP/PREFIX, or IP,MAC) the port may send from (repeat for several)
  --no-allowed-address    take every allowed address off the port
  --enable, --disable     set it administratively up or down`,
  options: {
    name: { type: 'string' },
    'security-group': { type: 'string', multiple: true },
    'no-security-group': { type: 'boolean' },
    'port-security': { type: 'boolean' },
    'no-port-security': { type: 'boolean' },
    'allowed-address': { type: 'string', multiple: true },
    'no-allowed-address': { type: 'boolean' },
    enable: { type: 'boolean' },
    disable: { type: 'boolean' },
  },
  args: { min: 1, max: 1 },
  async run(ctx, values, [ref]) {
    const both = (a: string, b: string) => ctx.usage(`--${a} and --${b}: give one or the other`);
    if (values['security-group'] && values['no-security-group']) throw both('security-group', 'no-security-group');
    if (values['port-security'] && values['no-port-security']) throw both('port-security', 'no-port-security');
    if (values['allowed-address'] && values['no-allowed-address']) throw both('allowed-address', 'no-allowed-address');
    if (values.enable && values.disable) throw both('enable', 'disable');
    const pairs = values['no-allowed-address'] ? [] : allowedAddresses(ctx, values['allowed-address']);
    const { client } = await ctx.client();
    const [id, named] = await Promise.all([
      portId(client, ref!),
      values['security-group'] ? Promise.all(values['security-group'].map((g) => securityGroupId(client, g))) : undefined,
    ]);
    // Port security off needs a port without groups: unless groups are given, they go with it.
    const groups = values['no-security-group'] || (values['no-port-security'] && !named) ? [] : named;
    const security = values['port-security'] ? true : values['no-port-security'] ? false : undefined;
    const port = await client.ports.update.mutate({
      id,
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(groups ? { securityGroups: groups } : {}),
      ...(security !== undefined ? { portSecurityEnabled: security } : {}),
      ...(pairs ? { allowedAddressPairs: pairs } : {}),
      ...(values.enable ? { adminStateUp: true } : values.disable ? { adminStateUp: false } : {}),
    });
    await printPort(ctx, client, port);
  },
});

export const portDelete = defineCommand({
  name: 'port delete',
  usage: '<port>...',
  summary: 'Deletes ports.',
  args: { min: 1, max: 100 },
  async run(ctx, _values, refs) {
    const { client } = await ctx.client();
    const deleted: { id: string }[] = [];
    for (const ref of refs) {
      const id = await portId(client, ref);
      deleted.push(await client.ports.delete.mutate({ id }));
      if (!ctx.json) ctx.print(`Deleted port ${ref}${ref === id ? '' : ` (${id})`}`);
    }
    if (ctx.json) ctx.printJson(deleted);
  },
});
