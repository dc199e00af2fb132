import type { AsterClient } from '@aster/client';
import { defineCommand, required } from '../command.ts';
import { dash, fields, table } from '../output.ts';
import { networkId, subnetId } from '../resolve.ts';
import { subnetHelp, subnetOptions, subnetSettings } from './network.ts';

type Subnet = Awaited<ReturnType<AsterClient['subnets']['get']['query']>>;

function subnetFields(s: Subnet, networkName: string): string {
  return fields([
    ['id', s.id],
    ['name', dash(s.name)],
    ['network', `${networkName} (${s.networkId})`],
    ['cidr', s.cidr],
    ['gateway', dash(s.gateway)],
    ['allocation', `${s.allocationStart} - ${s.allocationEnd}`],
    ['dhcp', s.enableDhcp ? 'on' : 'off'],
    ['dns servers', s.dnsServers.join(', ') || '-'],
    ['host routes', s.hostRoutes.map((r) => `${r.destination} via ${r.nexthop}`).join('\n') || '-'],
    ['addresses', `${s.used} used, ${s.available} free`],
  ]);
}

/** Network names by id, for tables and fields. */
async function networkNames(client: AsterClient): Promise<Map<string, string>> {
  return new Map((await client.networks.list.query()).map((n) => [n.id, n.name]));
}

export const subnetList = defineCommand({
  name: 'subnet list',
  usage: '[--network NETWORK]',
  summary: "Lists the subnets of the project's networks, the shared and the external ones.",
  help: `Options:
  --network NETWORK   only the subnets of this network (by name or id)`,
  options: { network: { type: 'string' } },
  async run(ctx, values) {
    const { client } = await ctx.client();
    const network = values.network !== undefined ? await networkId(client, values.network) : undefined;
    const [subnets, names] = await Promise.all([client.subnets.list.query(network ? { networkId: network } : undefined), networkNames(client)]);
    if (ctx.json) return ctx.printJson(subnets);
    ctx.print(
      table(
        ['ID', 'NAME', 'NETWORK', 'CIDR', 'GATEWAY', 'DHCP', 'FREE'],
        subnets.map((s) => [s.id, dash(s.name), names.get(s.networkId) ?? s.networkId, s.cidr, dash(s.gateway), s.enableDhcp ? 'on' : 'off', String(s.available)]),
      ),
    );
  },
});

export const subnetShow = defineCommand({
  name: 'subnet show',
  usage: '<subnet>',
  summary: "Shows one subnet: by id, name, CIDR, or its network's name when the network has one subnet.",
  args: { min: 1, max: 1 },
  async run(ctx, _values, [ref]) {
    const { client } = await ctx.client();
    const subnet = await client.subnets.get.query({ id: await subnetId(client, ref!) });
    if (ctx.json) return ctx.printJson(subnet);
    ctx.print(subnetFields(subnet, (await networkNames(client)).get(subnet.networkId) ?? '-'));
  },
});

export const subnetCreate = defineCommand({
  name: 'subnet create',
  usage: '--network NETWORK --cidr CIDR [--name NAME] [--gateway IP | --no-gateway] [--no-dhcp] [--dns IP]...',
  summary: 'Adds a subnet to a network.',
  help: `Options:
  --network NETWORK       the network (by name or id)
  --cidr CIDR             its addresses, e.g. 10.0.1.0/24
  --name NAME             a name for it
${subnetHelp}`,
  options: { network: { type: 'string' }, cidr: { type: 'string' }, name: { type: 'string' }, ...subnetOptions },
  async run(ctx, values) {
    const networkRef = required(ctx, values.network, '--network');
    const settings = subnetSettings(ctx, required(ctx, values.cidr, '--cidr'), values);
    const { client } = await ctx.client();
    const network = await networkId(client, networkRef);
    const subnet = await client.subnets.create.mutate({ networkId: network, ...settings, ...(values.name !== undefined ? { name: values.name } : {}) });
    if (ctx.json) return ctx.printJson(subnet);
    ctx.print(subnetFields(subnet, (await networkNames(client)).get(subnet.networkId) ?? networkRef));
  },
});

export const subnetDelete = defineCommand({
  name: 'subnet delete',
  usage: '<subnet>...',
  summary: 'Deletes subnets (refused while ports other than the metadata port are on them).',
  args: { min: 1, max: 100 },
  async run(ctx, _values, refs) {
    const { client } = await ctx.client();
    const deleted: { id: string }[] = [];
    for (const ref of refs) {
      const id = await subnetId(client, ref);
      deleted.push(await client.subnets.delete.mutate({ id }));
      if (!ctx.json) ctx.print(`Deleted subnet ${ref}${ref === id ? '' : ` (${id})`}`);
    }
    if (ctx.json) ctx.printJson(deleted);
  },
});
