import type { AsterClient } from '@aster/client';
import { defineCommand, oneOf, required, wholeNumber, type Ctx } from '../command.ts';
import { dash, fields, table } from '../output.ts';
import { networkId, serverId } from '../resolve.ts';

export type Network = Awaited<ReturnType<AsterClient['networks']['get']['query']>>;
export type Subnet = Network['subnets'][number];

const yes = (b: boolean) => (b ? 'yes' : 'no');

export function subnetLine(s: Subnet): string {
  return `${s.cidr}${s.name ? ` (${s.name})` : ''}  gateway ${dash(s.gateway)}  dhcp ${s.enableDhcp ? 'on' : 'off'}  ${s.available} free  ${s.id}`;
}

export function networkFields(n: Network): string {
  return fields([
    ['id', n.id],
    ['name', n.name],
    ['project', dash(n.projectId)],
    ['shared', yes(n.shared)],
    ['external', yes(n.external)],
    ['physical network', dash(n.physicalNetwork)],
    ['mtu', String(n.mtu)],
    ['admin state', n.adminStateUp ? 'up' : 'down'],
    ['description', dash(n.description)],
    ['subnets', n.subnets.length ? n.subnets.map(subnetLine).join('\n') : '-'],
    ['created', n.createdAt],
  ]);
}

export const networkList = defineCommand({
  name: 'network list',
  usage: '[--all-projects]',
  summary: "Lists the project's networks, the shared and the external ones.",
  help: `Options:
  --all-projects   every project's networks (cloud administrators)`,
  options: { 'all-projects': { type: 'boolean' } },
  async run(ctx, values) {
    const { client } = await ctx.client();
    const networks = await client.networks.list.query(values['all-projects'] ? { allProjects: true } : undefined);
    if (ctx.json) return ctx.printJson(networks);
    ctx.print(
      table(
        ['ID', 'NAME', 'SUBNETS', 'SHARED', 'EXTERNAL', 'FREE ADDRESSES'],
        networks.map((n) => [
          n.id,
          n.name,
          n.subnets.map((s) => s.cidr).join(', ') || '-',
          yes(n.shared),
          yes(n.external),
          String(n.subnets.reduce((sum, s) => sum + s.available, 0)),
        ]),
      ),
    );
  },
});

export const networkShow = defineCommand({
  name: 'network show',
  usage: '<network>',
  summary: 'Shows one network (by name or id) with its subnets.',
  args: { min: 1, max: 1 },
  async run(ctx, _values, [ref]) {
    const { client } = await ctx.client();
    const network = await client.networks.get.query({ id: await networkId(client, ref!) });
    if (ctx.json) return ctx.printJson(network);
    ctx.print(networkFields(network));
  },
});

/** The subnet options shared by `network create` and `subnet create`, checked before the API is asked. */
export const subnetOptions = {
  gateway: { type: 'string' },
  'no-gateway': { type: 'boolean' },
  'no-dhcp': { type: 'boolean' },
  dns: { type: 'string', multiple: true },
} as const;
export const subnetHelp = `  --gateway IP            the subnet's gateway (default: its first address)
  --no-gateway            no gateway (such a subnet cannot join a router)
  --no-dhcp               no DHCP on the subnet (guests configure their address themselves)
  --dns IP                a DNS server handed out by DHCP (repeat for several)`;
export function subnetSettings(ctx: Ctx, cidr: string, values: { gateway?: string; 'no-gateway'?: boolean; 'no-dhcp'?: boolean; dns?: string[] }) {
  if (values.gateway !== undefined && values['no-gateway']) throw ctx.usage('--gateway and --no-gateway: give one or the other');
  return {
    cidr,
    ...(values.gateway !== undefined ? { gateway: values.gateway } : values['no-gateway'] ? { gateway: null } : {}),
    ...(values['no-dhcp'] ? { enableDhcp: false } : {}),
    ...(values.dns?.length ? { dnsServers: values.dns } : {}),
  };
}

export const networkCreate = defineCommand({
  name: 'network create',
  usage: '<name> [--subnet CIDR [--gateway IP | --no-gateway] [--no-dhcp] [--dns IP]...] [--external --physical-network NAME] [--shared]',
  summary: 'Creates a network of the project, with a first subnet when --subnet is given.',
  help: `Options:
  --subnet CIDR           a first subnet, e.g. 10.0.0.0/24
${subnetHelp}
  --description TEXT      what it is for
  --mtu N                 the MTU (default: 1442 on overlay networks, 1500 on physical ones)
Administrators only:
  --external              floating IPs and router gateways come from it
  --physical-network NAME a provider network on this physical network (a bridge mapping, e.g. public)
  --shared                every project may use it`,
  options: {
    subnet: { type: 'string' },
    ...subnetOptions,
    description: { type: 'string' },
    mtu: { type: 'string' },
    external: { type: 'boolean' },
    'physical-network': { type: 'string' },
    shared: { type: 'boolean' },
  },
  args: { min: 1, max: 1 },
  async run(ctx, values, [name]) {
    const mtu = wholeNumber(ctx, values.mtu, '--mtu', 576, 9000);
    const subnetGiven = values.gateway !== undefined || values['no-gateway'] || values['no-dhcp'] || values.dns !== undefined;
    if (values.subnet === undefined && subnetGiven) throw ctx.usage('--gateway, --no-gateway, --no-dhcp and --dns go with --subnet');
    const subnet = values.subnet !== undefined ? subnetSettings(ctx, values.subnet, values) : undefined;
    const { client } = await ctx.client();
    const network = await client.networks.create.mutate({
      name: name!,
      ...(subnet ? { subnet } : {}),
      ...(values.description !== undefined ? { description: values.description } : {}),
      ...(mtu !== undefined ? { mtu } : {}),
      ...(values.external ? { external: true } : {}),
      ...(values['physical-network'] !== undefined ? { physicalNetwork: values['physical-network'] } : {}),
      ...(values.shared ? { shared: true } : {}),
    });
    if (ctx.json) return ctx.printJson(network);
    ctx.print(networkFields(network));
  },
});

export const networkDelete = defineCommand({
  name: 'network delete',
  usage: '<network>...',
  summary: 'Deletes networks with their subnets (refused while servers, ports or routers are on them).',
  args: { min: 1, max: 100 },
  async run(ctx, _values, refs) {
    const { client } = await ctx.client();
    const deleted: { id: string }[] = [];
    for (const ref of refs) {
      const id = await networkId(client, ref);
      deleted.push(await client.networks.delete.mutate({ id }));
      if (!ctx.json) ctx.print(`Deleted network ${ref}${ref === id ? '' : ` (${id})`}`);
    }
    if (ctx.json) ctx.printJson(deleted);
  },
});

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** `outside`, `outside:<ip>`, a floating IP, or a server by name or id. */
async function endpoint(ctx: Ctx, client: AsterClient, ref: string, flag: string) {
  if (ref === 'outside') return { outside: true as const };
  if (ref.startsWith('outside:')) {
    const ip = ref.slice('outside:'.length);
    if (!IPV4.test(ip)) throw ctx.usage(`${flag} outside:<ip> needs an IPv4 address (got ${ip})`);
    return { outside: true as const, ip };
  }
  if (IPV4.test(ref)) return { floatingIp: ref };
  return { serverId: await serverId(client, ref) };
}

export const networkExplain = defineCommand({
  name: 'network explain',
  usage: '--from <server|ip|outside> --to <server|ip|outside> --protocol tcp|udp|icmp [--port N]',
  summary: "Says whether the first packet from one end reaches the other and which hop decides, from OVN's packet tracing.",
  help: `Options:
  --from REF        a server (name or id), a floating IP, or outside (a host on the external network)
  --to REF          the same; outside:<ip> names an address outside, e.g. outside:8.8.8.8
  --protocol PROTO  tcp, udp or icmp (an echo request)
  --port N          the destination port, for tcp and udp`,
  options: { from: { type: 'string' }, to: { type: 'string' }, protocol: { type: 'string' }, port: { type: 'string' } },
  async run(ctx, values) {
    const protocol = oneOf(ctx, required(ctx, values.protocol, '--protocol'), '--protocol', ['tcp', 'udp', 'icmp'] as const)!;
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) throw ctx.usage(`--port must be a port number 1-65535 (got ${values.port})`);
    if (protocol !== 'icmp' && port === undefined) throw ctx.usage(`--port is required for ${protocol}`);
    const { client } = await ctx.client();
    const from = await endpoint(ctx, client, required(ctx, values.from, '--from'), '--from');
    const to = await endpoint(ctx, client, required(ctx, values.to, '--to'), '--to');
    const answer = await client.networks.explainConnectivity.query({ from, to, protocol, ...(port !== undefined ? { port } : {}) });
    if (ctx.json) return ctx.printJson(answer);
    ctx.print(answer.reason);
    if (answer.hops.length) ctx.print(table(['HOP', 'NAME', 'DETAIL'], answer.hops.map((h) => [h.kind, h.name, h.detail])));
  },
});
