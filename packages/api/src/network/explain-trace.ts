/**
 * Reads ovn-trace's `--detailed --no-friendly-names` text as the events that explain a packet's fate, in the order
 * the packet met them: the datapaths it crossed (known by the logical ports it entered them by), the security group
 * ACLs that decided, the NAT it underwent, where it was output, and whether a router had to ARP for the next hop
 * (the trace ends there: the packet waits for the answer). Pure: names come later, from the network model.
 */
import type { NetworkModel } from '@aster/ovn';

export type Datapath = { kind: 'switch'; networkId: string } | { kind: 'router'; routerId: string };

export type TraceEvent =
  | { kind: 'datapath'; datapath: Datapath }
  /** A security group ACL stage: from-lport (the sender's egress rules, `port` is the inport) or to-lport (the receiver's ingress rules). */
  | { kind: 'acl'; direction: 'from-lport' | 'to-lport'; port: string; match: string; drop: boolean }
  | { kind: 'dnat'; ip: string }
  | { kind: 'snat'; ip: string }
  | { kind: 'output'; port: string; type: string }
  /** The router asks for the next hop's MAC by ARP out of `outport` (`lrp-<portId>`); the packet itself goes no further here. */
  | { kind: 'arp'; outport: string | null };

export interface TraceReading {
  events: TraceEvent[];
  /** The last logical flow stage met (before any ARP): where a dropped packet ended. */
  last: { stage: string; match: string; datapath: Datapath | null } | null;
}

const HEADER = /^\s*(ingress|egress)\(dp="[^"]*", inport="([^"]+)"(?:, outport="([^"]+)")?\)/;
const STAGE = /^\s*\d+\. (\S+) \([^)]*\): (.*), priority \d+, uuid [0-9a-f]+$/;
const OUTPUT = /\/\* output to "([^"]+)", type "([^"]*)" \*\//;
const NAT = /^ct_(s|d)nat(?:_in_czone)?\((\d+\.\d+\.\d+\.\d+)\)/;
const OUTPORT = /^outport = "((?:cr-)?lrp-[^"]+)";/;
const ACL_STAGE = /^ls_(in|out)_acl(_eval|_action)?$/;

/** The datapath a logical port belongs to: a router's by `lrp-`/`cr-lrp-`, a network's localnet port, or a switch port. */
export function datapathOf(model: NetworkModel, port: string): Datapath | null {
  const lrp = /^(?:cr-)?lrp-(.+)$/.exec(port);
  if (lrp) {
    const p = model.ports.find((x) => x.id === lrp[1]);
    const routerId = p ? (p.routerId ?? p.deviceId) : null;
    return routerId ? { kind: 'router', routerId } : null;
  }
  const provnet = /^provnet-(.+)$/.exec(port);
  if (provnet) return { kind: 'switch', networkId: provnet[1]! };
  const p = model.ports.find((x) => x.id === port);
  return p ? { kind: 'switch', networkId: p.networkId } : null;
}

const same = (a: Datapath | null, b: Datapath | null) =>
  !!a && !!b && (a.kind === 'switch' ? b.kind === 'switch' && a.networkId === b.networkId : b.kind === 'router' && a.routerId === b.routerId);

export function readTrace(model: NetworkModel, text: string): TraceReading {
  const events: TraceEvent[] = [];
  let last: TraceReading['last'] = null;
  let header: { pipeline: string; inport: string; outport: string | null; datapath: Datapath | null } | null = null;
  let current: { stage: string; match: string } | null = null;
  let firstAction = false;
  let lastDatapath: Datapath | null = null;
  let routedOut: string | null = null;
  for (const line of text.split('\n')) {
    const h = HEADER.exec(line);
    if (h) {
      header = { pipeline: h[1]!, inport: h[2]!, outport: h[3] ?? null, datapath: datapathOf(model, h[2]!) };
      if (header.datapath && !same(header.datapath, lastDatapath)) events.push({ kind: 'datapath', datapath: header.datapath });
      lastDatapath = header.datapath ?? lastDatapath;
      current = null;
      continue;
    }
    const s = STAGE.exec(line);
    if (s) {
      current = { stage: s[1]!, match: s[2]! };
      firstAction = true;
      last = { ...current, datapath: header?.datapath ?? null };
      continue;
    }
    const action = line.trim();
    const o = OUTPUT.exec(action);
    if (o && o[2] !== 'patch') events.push({ kind: 'output', port: o[1]!, type: o[2]! });
    if (!current || !action) continue;
    const acl = ACL_STAGE.exec(current.stage);
    // One event per ACL stage of a port group: its first action says whether it dropped.
    if (firstAction && acl && current.match.includes('@') && header) {
      const ingress = acl[1] === 'in';
      events.push({ kind: 'acl', direction: ingress ? 'from-lport' : 'to-lport', port: ingress ? header.inport : (header.outport ?? ''), match: current.match, drop: action.startsWith('drop') });
    }
    firstAction = false;
    const nat = NAT.exec(action);
    if (nat) events.push({ kind: nat[1] === 's' ? 'snat' : 'dnat', ip: nat[2]! });
    const out = OUTPORT.exec(action);
    if (out && current.stage.startsWith('lr_in_')) routedOut = out[1]!;
    if (current.stage === 'lr_in_arp_request' && action.startsWith('arp {')) {
      events.push({ kind: 'arp', outport: routedOut });
      break;
    }
  }
  return { events, last };
}
