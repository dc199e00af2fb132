import { defineCommand, oneOf, required, type Ctx } from '../command.ts';
import { table } from '../output.ts';
import { serverId } from '../resolve.ts';
import type { AsterClient } from '@aster/client';

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
