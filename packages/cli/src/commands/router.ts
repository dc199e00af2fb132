import type { AsterClient } from '@aster/client';
import { defineCommand } from '../command.ts';
import { dash, fields, table } from '../output.ts';
import { networkId, routerId, subnetId } from '../resolve.ts';

type Router = Awaited<ReturnType<AsterClient['routers']['get']['query']>>;

const gateway = (r: Router) => (r.externalGateway ? `${r.externalGateway.networkName} ${dash(r.externalGateway.ip)}${r.externalGateway.enableSnat ? '' : ' (no SNAT)'}` : '-');

function routerFields(r: Router): string {
  return fields([
    ['id', r.id],
    ['name', r.name],
    ['project', r.projectId],
    ['status', r.status],
    ['admin state', r.adminStateUp ? 'up' : 'down'],
    ['description', dash(r.description)],
    ['external gateway', gateway(r)],
    ['interfaces', r.interfaces.map((i) => `${i.ip} on ${i.networkName} ${i.cidr} (subnet ${i.subnetId})`).join('\n') || '-'],
    ['routes', r.routes.map((x) => `${x.destination} via ${x.nexthop}`).join('\n') || '-'],
    ['created', r.createdAt],
  ]);
}

function printRouter(ctx: { json: boolean; printJson(v: unknown): void; print(t: string): void }, r: Router) {
  if (ctx.json) ctx.printJson(r);
  else ctx.print(routerFields(r));
}

export const routerList = defineCommand({
  name: 'router list',
  usage: '',
  summary: "Lists the project's routers with their gateways and interfaces.",
  async run(ctx) {
    const { client } = await ctx.client();
    const routers = await client.routers.list.query();
    if (ctx.json) return ctx.printJson(routers);
    ctx.print(table(['ID', 'NAME', 'EXTERNAL GATEWAY', 'INTERFACES'], routers.map((r) => [r.id, r.name, gateway(r), r.interfaces.map((i) => `${i.networkName} ${i.cidr}`).join(', ') || '-'])));
  },
});

export const routerShow = defineCommand({
  name: 'router show',
  usage: '<router>',
  summary: 'Shows one router (by name or id).',
  args: { min: 1, max: 1 },
  async run(ctx, _values, [ref]) {
    const { client } = await ctx.client();
    printRouter(ctx, await client.routers.get.query({ id: await routerId(client, ref!) }));
  },
});

export const routerCreate = defineCommand({
  name: 'router create',
  usage: '<name> [--external-gateway NETWORK [--no-snat]]',
  summary: 'Creates a router, with a gateway on an external network when asked.',
  help: `Options:
  --external-gateway NETWORK  an external network (by name or id) for its gateway
  --no-snat                   no source NAT for the subnets behind it
  --description TEXT          what it is for`,
  options: { 'external-gateway': { type: 'string' }, 'no-snat': { type: 'boolean' }, description: { type: 'string' } },
  args: { min: 1, max: 1 },
  async run(ctx, values, [name]) {
    if (values['no-snat'] && values['external-gateway'] === undefined) throw ctx.usage('--no-snat goes with --external-gateway');
    const { client } = await ctx.client();
    const external = values['external-gateway'] !== undefined ? await networkId(client, values['external-gateway']) : undefined;
    const router = await client.routers.create.mutate({
      name: name!,
      ...(external ? { externalGateway: { networkId: external, enableSnat: !values['no-snat'] } } : {}),
      ...(values.description !== undefined ? { description: values.description } : {}),
    });
    printRouter(ctx, router);
  },
});

export const routerDelete = defineCommand({
  name: 'router delete',
  usage: '<router>...',
  summary: 'Deletes routers (refused while they have interfaces or floating IPs go through them).',
  args: { min: 1, max: 100 },
  async run(ctx, _values, refs) {
    const { client } = await ctx.client();
    const deleted: { id: string }[] = [];
    for (const ref of refs) {
      const id = await routerId(client, ref);
      deleted.push(await client.routers.delete.mutate({ id }));
      if (!ctx.json) ctx.print(`Deleted router ${ref}${ref === id ? '' : ` (${id})`}`);
    }
    if (ctx.json) ctx.printJson(deleted);
  },
});

const interfaceCommand = (verb: 'add' | 'remove') =>
  defineCommand({
    name: `router ${verb}-interface`,
    usage: '<router> <subnet>',
    summary:
      verb === 'add'
        ? "Attaches a subnet to a router (the router takes the subnet's gateway address)."
        : 'Detaches a subnet from a router (refused while floating IPs need it).',
    help: `Arguments: the router by name or id; the subnet by id, name, CIDR, or its network's name when that network has one subnet`,
    args: { min: 2, max: 2 },
    async run(ctx, _values, [routerRef, subnetRef]) {
      const { client } = await ctx.client();
      const [router, subnet] = await Promise.all([routerId(client, routerRef!), subnetId(client, subnetRef!)]);
      const input = { routerId: router, subnetId: subnet };
      printRouter(ctx, verb === 'add' ? await client.routers.addInterface.mutate(input) : await client.routers.removeInterface.mutate(input));
    },
  });
export const routerAddInterface = interfaceCommand('add');
export const routerRemoveInterface = interfaceCommand('remove');

export const routerSetGateway = defineCommand({
  name: 'router set-gateway',
  usage: '<router> <external network> [--no-snat]',
  summary: 'Gives a router its gateway on an external network (with source NAT unless --no-snat).',
  options: { 'no-snat': { type: 'boolean' } },
  args: { min: 2, max: 2 },
  async run(ctx, values, [routerRef, networkRef]) {
    const { client } = await ctx.client();
    const [id, network] = await Promise.all([routerId(client, routerRef!), networkId(client, networkRef!)]);
    printRouter(ctx, await client.routers.update.mutate({ id, externalGateway: { networkId: network, enableSnat: !values['no-snat'] } }));
  },
});

export const routerClearGateway = defineCommand({
  name: 'router clear-gateway',
  usage: '<router>',
  summary: "Takes a router's external gateway away.",
  args: { min: 1, max: 1 },
  async run(ctx, _values, [ref]) {
    const { client } = await ctx.client();
    printRouter(ctx, await client.routers.update.mutate({ id: await routerId(client, ref!), externalGateway: null }));
  },
});
