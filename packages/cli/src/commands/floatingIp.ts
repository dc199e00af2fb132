import type { AsterClient } from '@aster/client';
import { defineCommand, type Ctx } from '../command.ts';
import { describeError } from '../errors.ts';
import { dash, fields, table } from '../output.ts';
import { floatingIpOf, portId, serverId, serverOrPort } from '../resolve.ts';

type FloatingIp = Awaited<ReturnType<AsterClient['floatingIps']['get']['query']>>;

function fipFields(f: FloatingIp): string {
  return fields([
    ['id', f.id],
    ['floating ip', f.floatingIp],
    ['network', `${f.floatingNetworkName} (${f.floatingNetworkId})`],
    ['status', f.status],
    ['fixed ip', dash(f.fixedIp)],
    ['port', dash(f.portId)],
    ['server', f.server ? `${f.server.name} (${f.server.id})` : '-'],
    ['router', dash(f.routerId)],
    ['description', dash(f.description)],
    ['created', f.createdAt],
  ]);
}

async function printFip(ctx: Ctx, client: AsterClient, id: string) {
  const fip = await client.floatingIps.get.query({ id });
  if (ctx.json) ctx.printJson(fip);
  else ctx.print(fipFields(fip));
}

/** Associates through the server (its first port a router joins to the floating IP's network) or with the port. */
async function associate(client: AsterClient, fip: { id: string; floatingIp: string }, target: { server: string } | { port: string }) {
  if ('server' in target) await client.servers.addFloatingIp.mutate({ id: target.server, address: fip.floatingIp });
  else await client.floatingIps.update.mutate({ id: fip.id, portId: target.port });
}

export const floatingIpList = defineCommand({
  name: 'floating-ip list',
  usage: '[--all-projects]',
  summary: "Lists the project's floating IPs and what each is associated with.",
  help: `Options:
  --all-projects   every project's floating IPs (cloud administrators)`,
  options: { 'all-projects': { type: 'boolean' } },
  async run(ctx, values) {
    const { client } = await ctx.client();
    const fips = await client.floatingIps.list.query(values['all-projects'] ? { allProjects: true } : undefined);
    if (ctx.json) return ctx.printJson(fips);
    ctx.print(
      table(
        ['ID', 'FLOATING IP', 'NETWORK', 'FIXED IP', 'SERVER', 'PORT'],
        fips.map((f) => [f.id, f.floatingIp, f.floatingNetworkName, dash(f.fixedIp), dash(f.server?.name), dash(f.portId)]),
      ),
    );
  },
});

export const floatingIpCreate = defineCommand({
  name: 'floating-ip create',
  usage: '<external network> [--port PORT | --server SERVER] [--address IP]',
  summary: 'Allocates a floating IP from an external network, and associates it when asked.',
  help: `Options:
  --port PORT         associate it with this port (by id, name or fixed IP)
  --server SERVER     associate it with this server (by name or id): its first port a router joins to the network
  --address IP        this address (default: the next free one)
  --description TEXT  what it is for
If the association is refused, the new floating IP is released again.`,
  options: { port: { type: 'string' }, server: { type: 'string' }, address: { type: 'string' }, description: { type: 'string' } },
  args: { min: 1, max: 1 },
  async run(ctx, values, [network]) {
    if (values.port !== undefined && values.server !== undefined) throw ctx.usage('--port and --server: give one or the other');
    const { client } = await ctx.client();
    const target =
      values.port !== undefined ? { port: await portId(client, values.port) } : values.server !== undefined ? { server: await serverId(client, values.server) } : undefined;
    const fip = await client.floatingIps.create.mutate({
      floatingNetwork: network!,
      ...(values.address !== undefined ? { floatingIp: values.address } : {}),
      ...(values.description !== undefined ? { description: values.description } : {}),
    });
    if (target) {
      try {
        await associate(client, fip, target);
      } catch (error) {
        const released = await client.floatingIps.delete.mutate({ id: fip.id }).then(
          () => `Floating IP ${fip.floatingIp} was released.`,
          (e: unknown) => `Floating IP ${fip.floatingIp} (${fip.id}) stays allocated: ${describeError(e, undefined)}`,
        );
        ctx.note(released);
        throw error;
      }
    }
    await printFip(ctx, client, fip.id);
  },
});

export const floatingIpAssociate = defineCommand({
  name: 'floating-ip associate',
  usage: '<floating ip> <server or port>',
  summary: 'Associates a floating IP (by address or id) with a server or a port (by name or id).',
  args: { min: 2, max: 2 },
  async run(ctx, _values, [fipRef, targetRef]) {
    const { client } = await ctx.client();
    const [fip, target] = await Promise.all([floatingIpOf(client, fipRef!), serverOrPort(client, targetRef!)]);
    await associate(client, fip, target);
    await printFip(ctx, client, fip.id);
  },
});

export const floatingIpDisassociate = defineCommand({
  name: 'floating-ip disassociate',
  usage: '<floating ip>',
  summary: 'Takes a floating IP off its port; it stays allocated to the project.',
  args: { min: 1, max: 1 },
  async run(ctx, _values, [ref]) {
    const { client } = await ctx.client();
    const fip = await floatingIpOf(client, ref!);
    await client.floatingIps.update.mutate({ id: fip.id, portId: null });
    await printFip(ctx, client, fip.id);
  },
});

export const floatingIpDelete = defineCommand({
  name: 'floating-ip delete',
  usage: '<floating ip>...',
  summary: 'Releases floating IPs (by address or id).',
  args: { min: 1, max: 100 },
  async run(ctx, _values, refs) {
    const { client } = await ctx.client();
    const deleted: { id: string }[] = [];
    for (const ref of refs) {
      const fip = await floatingIpOf(client, ref);
      deleted.push(await client.floatingIps.delete.mutate({ id: fip.id }));
      if (!ctx.json) ctx.print(`Released floating IP ${fip.floatingIp} (${fip.id})`);
    }
    if (ctx.json) ctx.printJson(deleted);
  },
});
