/**
 * "Why can't I reach it", answered in words from OVN's own packet tracing. The cheap structural causes (no router
 * between the subnets, no gateway, a floating IP not associated) are found in the network model; otherwise the
 * first packet of the connection is traced with `ovn-trace` on the source's logical switch and the trace is read
 * back as the hops that decided: which switch and router it crossed, which security group let it through or
 * dropped it, which NAT it underwent. A tenant sees only its own objects' names.
 */
import { z } from 'zod';
import type { Pool } from '@aster/db';
import { localnetPortName, ovnTrace, routerPortName, switchName, type FloatingIpModel, type NetworkModel, type PortModel, type RouterModel, type TraceOptions, type TraceResult } from '@aster/ovn';
import type { ApiConfig } from '../context.ts';
import { AsterError } from '../errors.ts';
import { isUuid, type Caller } from './common.ts';
import { readTrace, type Datapath, type TraceEvent, type TraceReading } from './explain-trace.ts';
import { loadNetworkModel } from './model.ts';

const ipv4 = z.string().trim().regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, 'must be an IPv4 address');

export const endpoint = z.union([
  z.strictObject({ serverId: z.string().trim().min(1), networkId: z.string().trim().min(1).optional() }),
  z.strictObject({ floatingIp: ipv4 }),
  /** The outside world: a host on the external network (by default its gateway as a source, 8.8.8.8 as a destination). */
  z.strictObject({ outside: z.literal(true), ip: ipv4.optional() }),
]);
export type Endpoint = z.infer<typeof endpoint>;

export const explainInput = z
  .object({ from: endpoint, to: endpoint, protocol: z.enum(['tcp', 'udp', 'icmp']), port: z.number().int().min(1).max(65535).optional() })
  .refine((v) => v.protocol === 'icmp' || v.port !== undefined, { message: 'port is needed for tcp and udp', path: ['port'] });
export type ExplainInput = z.infer<typeof explainInput>;

export const hop = z.object({ kind: z.enum(['switch', 'router', 'acl', 'nat']), name: z.string(), detail: z.string() });
export type Hop = z.infer<typeof hop>;
export const explanation = z.object({
  verdict: z.enum(['allowed', 'dropped', 'no-route']),
  reason: z.string(),
  hops: z.array(hop),
  /** ovn-trace's own text, for administrators. */
  trace: z.string().optional(),
});
export type Explanation = z.infer<typeof explanation>;

export type Tracer = (opts: TraceOptions) => Promise<TraceResult>;

/** A structural cause found in the model: the answer is no-route with these words. */
class NoRoute extends Error {}

/** A MAC for hosts outside, on the external network (ovn-trace needs one; OVN does not know it). */
const OUTSIDE_MAC = '02:00:5e:00:00:01';
const DEFAULT_OUTSIDE = '8.8.8.8';
/** A source outside when the external subnet has no gateway to stand for it. */
const OUTSIDE_SOURCE = '192.0.2.1';

type PortEnd = { kind: 'port'; port: PortModel; server: { id: string; name: string; projectId: string } | null; fip: FloatingIpModel | null; byFip: boolean };
type End = PortEnd | { kind: 'outside'; ip: string | null };

/** Names as the caller may see them. */
class Namer {
  constructor(
    readonly model: NetworkModel,
    readonly caller: Caller,
    readonly servers: Map<string, { name: string; projectId: string }>,
  ) {}
  private mine = (projectId: string | null) => projectId === null || this.caller.isAdmin || projectId === this.caller.project.id;
  network(id: string): string {
    const n = this.model.networks.find((x) => x.id === id);
    return n && this.mine(n.projectId) ? n.name : 'a network of another project';
  }
  router(id: string): string {
    const r = this.model.routers.find((x) => x.id === id);
    return r && this.mine(r.projectId) ? r.name : 'a router of another project';
  }
  /** "server web-1", "port 5f0c…", or "a port of another project". */
  port(id: string): string {
    const p = this.model.ports.find((x) => x.id === id);
    if (!p || !this.mine(p.projectId)) return 'a port of another project';
    const s = this.servers.get(p.deviceId);
    return s ? `server ${s.name}` : `port ${p.id}`;
  }
  portVisible(id: string): boolean {
    const p = this.model.ports.find((x) => x.id === id);
    return !!p && this.mine(p.projectId);
  }
  /** The port's security groups, `default`-quoted, that the caller may see. */
  groups(p: PortModel): string[] {
    return p.securityGroupIds.flatMap((g) => {
      const sg = this.model.securityGroups.find((x) => x.id === g);
      return sg && this.mine(sg.projectId) ? [`\`${sg.name}\``] : [];
    });
  }
  groupOfMatch(match: string): string | null {
    const sg = this.model.securityGroups.find((g) => match.includes(`@pg_${g.id.replace(/[^A-Za-z0-9_]/g, '_')}`));
    return sg && this.mine(sg.projectId) ? sg.name : sg ? 'a security group of another project' : null;
  }
  datapath(d: Datapath): Hop {
    if (d.kind === 'router') {
      const r = this.model.routers.find((x) => x.id === d.routerId);
      return { kind: 'router', name: this.router(d.routerId), detail: r && this.mine(r.projectId) ? `router ${r.name}` : this.router(d.routerId) };
    }
    const n = this.model.networks.find((x) => x.id === d.networkId);
    if (!n || !this.mine(n.projectId)) return { kind: 'switch', name: this.network(d.networkId), detail: this.network(d.networkId) };
    const cidrs = this.model.subnets.filter((s) => s.networkId === d.networkId).map((s) => s.cidr);
    return { kind: 'switch', name: this.network(d.networkId), detail: `${n?.external ? 'external network' : 'network'} ${this.network(d.networkId)}${cidrs.length ? ` (${cidrs.join(', ')})` : ''}` };
  }
}

const what = (input: ExplainInput) => (input.protocol === 'icmp' ? 'icmp' : `${input.protocol}/${input.port}`);

function l4(input: ExplainInput): string {
  if (input.protocol === 'icmp') return 'icmp4 && icmp4.type == 8 && icmp4.code == 0';
  return `${input.protocol} && ${input.protocol}.src == 40000 && ${input.protocol}.dst == ${input.port}`;
}

const toInt = (ip: string) => ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
function inCidr(ip: string, cidr: string): boolean {
  const [net, len] = cidr.split('/');
  const size = 2 ** (32 - Number(len ?? 32));
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(net!) / size);
}

export async function explainConnectivity(
  deps: { db: Pool; config: Pick<ApiConfig, 'ovnSbDb'>; trace?: Tracer },
  caller: Caller,
  input: ExplainInput,
): Promise<Explanation> {
  const model = await loadNetworkModel(deps.db);
  const serverIds = [input.from, input.to].flatMap((e) => ('serverId' in e ? [e.serverId] : []));
  const floatingPorts = [input.from, input.to].flatMap((e) => ('floatingIp' in e ? model.floatingIps.filter((f) => f.floatingIp === e.floatingIp && f.portId).map((f) => f.portId!) : []));
  const deviceIds = [...serverIds.filter(isUuid), ...model.ports.filter((p) => floatingPorts.includes(p.id)).map((p) => p.deviceId).filter(isUuid)];
  const { rows } = await deps.db.query<{ id: string; name: string; project_id: string }>(
    'SELECT id::text, name, project_id::text FROM instances WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL',
    [deviceIds],
  );
  const servers = new Map(rows.map((r) => [r.id, { name: r.name, projectId: r.project_id }]));
  const names = new Namer(model, caller, servers);
  const run = new Explainer(deps, caller, input, model, names);
  try {
    const from = await run.resolve(input.from, 'from');
    const to = await run.resolve(input.to, 'to');
    return await run.explain(from, to);
  } catch (error) {
    if (error instanceof NoRoute) return { verdict: 'no-route', reason: `no route: ${error.message}`, hops: [] };
    throw error;
  }
}

class Explainer {
  private traces: string[] = [];
  /** Where the last trace ended. */
  private last: TraceReading['last'] = null;
  constructor(
    private deps: { db: Pool; config: Pick<ApiConfig, 'ovnSbDb'>; trace?: Tracer },
    private caller: Caller,
    private input: ExplainInput,
    private model: NetworkModel,
    private names: Namer,
  ) {}

  async resolve(e: Endpoint, side: 'from' | 'to'): Promise<End> {
    if ('outside' in e) return { kind: 'outside', ip: e.ip ?? null };
    if ('floatingIp' in e) {
      const f = this.model.floatingIps.find((x) => x.floatingIp === e.floatingIp);
      if (!f || (side === 'from' && !this.caller.isAdmin && f.projectId !== this.caller.project.id)) {
        if (side === 'from') throw new AsterError('NotFound', `floating IP ${e.floatingIp} not found`);
        throw new NoRoute(`${e.floatingIp} is not a floating IP`);
      }
      if (!f.portId) throw new NoRoute(`floating IP ${f.floatingIp} is not associated with any port`);
      const port = this.model.ports.find((p) => p.id === f.portId);
      if (!port) throw new NoRoute(`floating IP ${f.floatingIp} is not associated with any port`);
      const s = this.names.servers.get(port.deviceId);
      return { kind: 'port', port, server: s ? { id: port.deviceId, ...s } : null, fip: f, byFip: true };
    }
    const s = isUuid(e.serverId) ? this.names.servers.get(e.serverId.toLowerCase()) : undefined;
    if (!s || (!this.caller.isAdmin && s.projectId !== this.caller.project.id)) throw new AsterError('NotFound', `Server ${e.serverId} not found`);
    const server = { id: e.serverId.toLowerCase(), ...s };
    const { rows } = await this.deps.db.query<{ id: string }>('SELECT id::text FROM ports WHERE instance_id = $1 ORDER BY created_at, id', [server.id]);
    const ports = rows.map((r) => this.model.ports.find((p) => p.id === r.id)).filter((p): p is PortModel => !!p);
    const port = e.networkId ? ports.find((p) => p.networkId === e.networkId) : ports[0];
    if (!port) {
      if (e.networkId) throw new AsterError('InvalidInput', `server ${s.name} has no port on network ${this.names.network(e.networkId)}`);
      throw new NoRoute(`server ${s.name} has no port`);
    }
    const fip = this.model.floatingIps.find((f) => f.portId === port.id) ?? null;
    return { kind: 'port', port, server, fip, byFip: false };
  }

  private routersOn(subnetId: string): RouterModel[] {
    const ids = new Set(this.model.ports.filter((p) => p.deviceOwner === 'network:router_interface' && p.subnetId === subnetId).map((p) => p.routerId ?? p.deviceId));
    return this.model.routers.filter((r) => ids.has(r.id));
  }

  private subnetWords(subnetId: string): string {
    const s = this.model.subnets.find((x) => x.id === subnetId);
    return `subnet ${s?.cidr ?? subnetId} (${s ? this.names.network(s.networkId) : '?'})`;
  }

  /** The routers on the port's subnet, or the no-route that there are none. */
  private routersOf(p: PortModel): RouterModel[] {
    const routers = this.routersOn(p.subnetId);
    if (routers.length) return routers;
    const onNetwork = this.model.ports.some((x) => x.deviceOwner === 'network:router_interface' && x.networkId === p.networkId);
    throw new NoRoute(onNetwork ? `${this.subnetWords(p.subnetId)} is not attached to any router` : `network ${this.names.network(p.networkId)} is not attached to any router`);
  }

  private gatewayOf(p: PortModel): { router: RouterModel; gw: PortModel } {
    const routers = this.routersOf(p);
    const router = routers.find((r) => r.externalNetworkId);
    if (!router) throw new NoRoute(`router ${this.names.router(routers[0]!.id)} has no external gateway`);
    return { router, gw: this.gatewayPort(router) };
  }

  private gatewayPort(router: RouterModel): PortModel {
    const gw = this.model.ports.find((x) => x.deviceOwner === 'network:router_gateway' && (x.routerId ?? x.deviceId) === router.id);
    if (!router.externalNetworkId || !gw) throw new NoRoute(`router ${this.names.router(router.id)} has no external gateway`);
    return gw;
  }

  private interfaceOn(router: RouterModel, subnetId: string): PortModel {
    return this.model.ports.find((x) => x.deviceOwner === 'network:router_interface' && x.subnetId === subnetId && (x.routerId ?? x.deviceId) === router.id)!;
  }

  private async trace(datapath: string, inport: string, flow: { ethSrc: string; ethDst: string; src: string; dst: string }) {
    const microflow = `eth.src == ${flow.ethSrc} && eth.dst == ${flow.ethDst} && ip4.src == ${flow.src} && ip4.dst == ${flow.dst} && ip.ttl == 64 && ${l4(this.input)}`;
    const t = await (this.deps.trace ?? ovnTrace)({ sbDb: this.deps.config.ovnSbDb, datapath, inport, microflow });
    this.traces.push(`# ovn-trace ${datapath} 'inport == "${inport}" && ${microflow}'\n${t.text}`);
    const reading = readTrace(this.model, t.text);
    this.last = reading.last;
    return reading.events;
  }

  async explain(from: End, to: End): Promise<Explanation> {
    if (from.kind === 'outside' && to.kind === 'outside') throw new AsterError('InvalidInput', 'from and to are both outside: one end must be a server or a floating IP');
    let events: TraceEvent[];
    let target: { port: string } | { outside: string; router: RouterModel; gw: PortModel };
    if (from.kind === 'port' && to.kind === 'port' && !(to.byFip && !this.sameNetwork(from, to) && this.routerShared(from, to) === null)) {
      // Inside: on one network, or routed by a router both subnets are attached to (to a floating IP: hairpinned by its router).
      const src = from.port;
      const dstIp = to.byFip ? to.fip!.floatingIp : to.port.ip;
      let ethDst = to.port.mac;
      if (!this.sameNetwork(from, to) || to.byFip) {
        const router = to.byFip ? this.model.routers.find((r) => r.id === to.fip!.routerId)! : this.routerShared(from, to);
        if (!router) {
          const mine = this.routersOf(src)[0]!;
          throw new NoRoute(`${this.subnetWords(to.port.subnetId)} is not attached to router ${this.names.router(mine.id)}`);
        }
        ethDst = this.interfaceOn(router, src.subnetId).mac;
      }
      events = await this.trace(switchName(src.networkId), src.id, { ethSrc: src.mac, ethDst, src: src.ip, dst: dstIp });
      target = { port: to.port.id };
    } else if (from.kind === 'port') {
      // Out through the source's router gateway; to a floating IP behind another router, back in from outside.
      const { router, gw } = this.gatewayOf(from.port);
      const dst = to.kind === 'outside' ? (to.ip ?? DEFAULT_OUTSIDE) : to.fip!.floatingIp;
      events = await this.trace(switchName(from.port.networkId), from.port.id, { ethSrc: from.port.mac, ethDst: this.interfaceOn(router, from.port.subnetId).mac, src: from.port.ip, dst });
      target = { outside: dst, router, gw };
      if (to.kind === 'port' && this.leftBy(events, target)) {
        const snat = this.snatOf(events, from.port, router, gw);
        const back = await this.inbound(to, { inport: gw.id, ethSrc: gw.mac, src: snat ?? from.port.ip });
        events = [...events.filter((e) => e.kind !== 'arp' && e.kind !== 'output'), ...(snat && !events.some((e) => e.kind === 'snat') ? [{ kind: 'snat' as const, ip: snat }] : []), ...back];
        target = { port: to.port.id };
      }
    } else {
      if (to.kind !== 'port') throw new Error('unreachable');
      events = await this.inbound(to, null);
      target = { port: to.port.id };
    }
    return this.judge(from, to, events, target);
  }

  private sameNetwork = (a: PortEnd, b: PortEnd) => a.port.networkId === b.port.networkId && !b.byFip;
  private routerShared(a: PortEnd, b: PortEnd): RouterModel | null {
    const theirs = new Set(this.routersOn(b.port.subnetId).map((r) => r.id));
    if (b.byFip) return this.routersOn(a.port.subnetId).find((r) => r.id === b.fip!.routerId) ?? null;
    return this.routersOn(a.port.subnetId).find((r) => theirs.has(r.id)) ?? null;
  }

  /** From the outside (or another router's gateway) to the port's floating IP. */
  private async inbound(to: PortEnd, via: { inport: string; ethSrc: string; src: string } | null): Promise<TraceEvent[]> {
    const f = to.fip;
    if (!f) throw new NoRoute(`${to.server ? `server ${to.server.name}` : this.names.port(to.port.id)} has no floating IP: from outside it is reached only through one`);
    const router = this.model.routers.find((r) => r.id === f.routerId);
    if (!router) throw new NoRoute(`floating IP ${f.floatingIp} is not associated with any port`);
    const gw = this.gatewayPort(router);
    const ext = this.model.networks.find((n) => n.id === f.floatingNetworkId);
    if (!via && !ext?.physicalNetwork) throw new NoRoute(`external network ${this.names.network(f.floatingNetworkId)} has no physical network: nothing outside reaches it`);
    const extSubnet = this.model.subnets.find((s) => s.networkId === f.floatingNetworkId && inCidr(f.floatingIp, s.cidr));
    const from = this.input.from;
    const outsideIp = 'outside' in from ? from.ip : undefined;
    const src = via?.src ?? outsideIp ?? extSubnet?.gateway ?? OUTSIDE_SOURCE;
    return this.trace(switchName(f.floatingNetworkId), via?.inport ?? localnetPortName(f.floatingNetworkId), { ethSrc: via?.ethSrc ?? OUTSIDE_MAC, ethDst: gw.mac, src, dst: f.floatingIp });
  }

  /** The packet left through the router's gateway: output on the external network, or the router ARPs there for the next hop. */
  private leftBy(events: TraceEvent[], t: { router: RouterModel; gw: PortModel }): boolean {
    const lrp = routerPortName(t.gw.id);
    return events.some((e) => (e.kind === 'output' && e.port === localnetPortName(t.router.externalNetworkId!)) || (e.kind === 'arp' && (e.outport === lrp || e.outport === `cr-${lrp}`)));
  }

  /** The source address outside: the trace's SNAT, else (the trace stopped at an ARP) the model's. */
  private snatOf(events: TraceEvent[], src: PortModel, router: RouterModel, gw: PortModel): string | null {
    const traced = events.find((e): e is Extract<TraceEvent, { kind: 'snat' }> => e.kind === 'snat');
    if (traced) return traced.ip;
    const fip = this.model.floatingIps.find((f) => f.portId === src.id && f.routerId === router.id);
    if (fip) return fip.floatingIp;
    return router.enableSnat ? gw.ip : null;
  }

  private judge(from: End, to: End, events: TraceEvent[], target: { port: string } | { outside: string; router: RouterModel; gw: PortModel }): Explanation {
    const hops: Hop[] = [];
    const names = this.names;
    const trace = this.caller.isAdmin ? { trace: this.traces.join('\n') } : {};
    for (const e of events) {
      if (e.kind === 'datapath') hops.push(names.datapath(e.datapath));
      else if (e.kind === 'acl') {
        const group = names.groupOfMatch(e.match);
        const dir = e.direction === 'from-lport' ? 'egress' : 'ingress';
        if (e.drop) hops.push({ kind: 'acl', name: names.port(e.port), detail: `no ${dir} rule allows ${what(this.input)}: dropped` });
        else if (group) hops.push({ kind: 'acl', name: group, detail: `an ${dir} rule of security group ${group} allows ${what(this.input)} (${names.portVisible(e.port) ? names.port(e.port) : 'the destination'})` });
      } else if (e.kind === 'dnat') {
        const f = this.model.floatingIps.find((x) => x.fixedIp === e.ip && x.portId && (to.kind !== 'port' || x.portId === to.port.id));
        const shown = f?.portId && names.portVisible(f.portId) ? `${e.ip} (${names.port(f.portId)})` : 'a port of another project';
        hops.push({ kind: 'nat', name: f ? `floating IP ${f.floatingIp}` : 'DNAT', detail: `${f ? `floating IP ${f.floatingIp}` : 'destination'} → ${shown}` });
      } else if (e.kind === 'snat') hops.push({ kind: 'nat', name: 'SNAT', detail: `SNAT to ${e.ip}` });
    }
    const path = hops.filter((h) => h.kind === 'switch' || h.kind === 'router').map((h) => `${h.kind} ${h.name}`).join(' → ');
    const drop = events.find((e): e is Extract<TraceEvent, { kind: 'acl' }> => e.kind === 'acl' && e.drop);
    if (drop) return { verdict: 'dropped', reason: this.dropWords(drop, to), hops, ...trace };
    const dnat = hops.find((h) => h.kind === 'nat' && h.name.startsWith('floating IP'));
    if ('port' in target && events.some((e) => e.kind === 'output' && e.port === target.port)) {
      const snat = hops.find((h) => h.name === 'SNAT' && !dnat);
      return { verdict: 'allowed', reason: `allowed: ${dnat ? `${dnat.detail}: ` : ''}${path}, to ${names.port(target.port)}${snat ? `, ${snat.detail}` : ''}`, hops, ...trace };
    }
    if ('outside' in target && from.kind === 'port' && this.leftBy(events, target)) {
      const snat = this.snatOf(events, from.port, target.router, target.gw);
      if (!events.some((e) => e.kind === 'snat') && snat) hops.push({ kind: 'nat', name: 'SNAT', detail: `SNAT to ${snat}` });
      hops.push(names.datapath({ kind: 'switch', networkId: target.router.externalNetworkId! }));
      const arp = events.some((e) => e.kind === 'arp');
      return {
        verdict: 'allowed',
        reason: `allowed: ${path} → outside (${target.outside})${snat ? `, SNAT to ${snat}` : ', without SNAT'}${arp ? ` (router ${names.router(target.router.id)} asks for its next hop's MAC by ARP first)` : ''}`,
        hops,
        ...trace,
      };
    }
    // Not an ACL: port security, routing or another stage; named by OVN's stage and where it was.
    const at = this.last ? ` in OVN's stage ${this.last.stage}${this.last.datapath ? ` of ${names.datapath(this.last.datapath).detail}` : ''}` : '';
    return { verdict: 'dropped', reason: `dropped${at}${path ? `, after ${path}` : ''}: no logical flow delivers it`, hops, ...trace };
  }

  private dropWords(drop: Extract<TraceEvent, { kind: 'acl' }>, to: End): string {
    const names = this.names;
    const port = this.model.ports.find((p) => p.id === drop.port);
    const ingress = drop.direction === 'to-lport';
    const proto = what(this.input);
    if (!port || !names.portVisible(port.id)) return `dropped by the security groups of the destination (a port of another project): none of their ingress rules allows ${proto}`;
    const groups = names.groups(port);
    const which = `security group${groups.length > 1 ? 's' : ''} ${groups.join(', ')} of ${names.port(port.id)}`;
    if (ingress) return groups.length ? `dropped by ${which}: no ingress rule allows ${proto}` : `dropped: ${names.port(port.id)} is in no security group, so no ingress rule allows ${proto}`;
    const dst = to.kind === 'port' ? (to.byFip ? to.fip!.floatingIp : to.port.ip) : (to.ip ?? DEFAULT_OUTSIDE);
    return groups.length ? `dropped: no egress rule of ${which} allows ${proto} to ${dst}` : `dropped: ${names.port(port.id)} is in no security group, so no egress rule allows ${proto} to ${dst}`;
  }
}
