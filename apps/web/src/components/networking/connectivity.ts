import type { AppRouter } from '@aster/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

export type ExplainInput = inferRouterInputs<AppRouter>['networks']['explainConnectivity'];
export type Explanation = inferRouterOutputs<AppRouter>['networks']['explainConnectivity'];
export type Hop = Explanation['hops'][number];

/** The address "the outside" stands for unless another is typed: the host, on the external network `public`. */
export const OUTSIDE_DEFAULT = '192.168.122.1';
export const OUTSIDE = 'outside';

/** The Test connectivity form as typed. `other` is `server:<id>`, `fip:<address>` or OUTSIDE. */
export interface ConnectivityDraft {
  /** `from`: this server is the source; `to`: it is the destination. */
  direction: 'from' | 'to';
  other: string;
  address: string;
  protocol: 'tcp' | 'udp' | 'icmp';
  port: string;
  /** This server's network to test on ('' for its first port). */
  networkId: string;
}

export const emptyDraft = (): ConnectivityDraft => ({ direction: 'to', other: OUTSIDE, address: OUTSIDE_DEFAULT, protocol: 'tcp', port: '22', networkId: '' });

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** What is wrong with the draft before it is sent (the API checks again and says its own words). */
export function draftProblems(d: ConnectivityDraft): { port?: string; address?: string; other?: string } {
  const p: { port?: string; address?: string; other?: string } = {};
  if (!d.other) p.other = 'Choose the other end';
  if (d.other === OUTSIDE && d.address.trim() && !IPV4.test(d.address.trim())) p.address = 'Type an IPv4 address, like 192.168.122.1';
  if (d.protocol !== 'icmp') {
    const port = Number(d.port.trim());
    if (!d.port.trim() || !Number.isInteger(port) || port < 1 || port > 65535) p.port = 'Port must be a whole number from 1 to 65535';
  }
  return p;
}

/** The explainConnectivity input the draft asks for, this server being one end. */
export function explainInput(serverId: string, d: ConnectivityDraft): ExplainInput {
  const self = { serverId, ...(d.networkId ? { networkId: d.networkId } : {}) };
  const other: ExplainInput['from'] = d.other.startsWith('server:')
    ? { serverId: d.other.slice('server:'.length) }
    : d.other.startsWith('fip:')
      ? { floatingIp: d.other.slice('fip:'.length) }
      : { outside: true, ...(d.address.trim() ? { ip: d.address.trim() } : {}) };
  const port = d.protocol === 'icmp' ? {} : { port: Number(d.port.trim()) };
  return d.direction === 'from' ? { from: self, to: other, protocol: d.protocol, ...port } : { from: other, to: self, protocol: d.protocol, ...port };
}

export const VERDICT_LABEL: Record<Explanation['verdict'], string> = { allowed: 'Allowed', dropped: 'Dropped', 'no-route': 'No route' };

/**
 * The API's reason as the rest of a sentence that the verdict's label begins: "dropped by security group …"
 * after the label Dropped reads "by security group …", "no route: network back …" after No route reads
 * "network back …"; a full stop last.
 */
export function afterVerdict(verdict: Explanation['verdict'], reason: string): string {
  const word = VERDICT_LABEL[verdict].toLowerCase();
  let s = reason.trim();
  if (s.toLowerCase().startsWith(word)) s = s.slice(word.length).replace(/^:?\s*/, '');
  if (!s) return s;
  return /[.!?)]$/.test(s) ? s : `${s}.`;
}

/** Text with `quoted` names split out, so a page can set them as code. */
export function quotedParts(text: string): { text: string; code: boolean }[] {
  return text.split(/(`[^`]+`)/).flatMap((part) => (part === '' ? [] : [part.startsWith('`') && part.endsWith('`') && part.length > 1 ? { text: part.slice(1, -1), code: true } : { text: part, code: false }]));
}

/** A hop as the path shows it: the kind in a word, then its name ("network front", "router r1", "NAT floating IP …"). */
export function hopLabel(h: Hop): string {
  if (h.kind === 'switch') return `network ${h.name}`;
  if (h.kind === 'router') return `router ${h.name}`;
  // An ACL that dropped is named by its port (its groups are in the reason); one that let it through, by its group.
  if (h.kind === 'acl') return h.detail.endsWith('dropped') ? `${h.name}: dropped` : `security group ${h.name}`;
  return h.name === 'SNAT' ? h.detail : h.name;
}

/** One line of the whole path, for people and tests: "network front → router r1 → network public". */
export const pathText = (hops: Hop[]) => hops.map(hopLabel).join(' → ');
