import type { FilterRun } from './filters/index.ts';
import type { Explanation } from './types.ts';

type Reason = Explanation['filters'][number]['reasons'][number];

export interface ExplainOptions {
  /** Hosts that passed every filter but whose claim failed; by default, the hosts the last filter let through. */
  claimsLost?: number;
  /** Host names kept per reason (the count stays exact): a fault over a large cloud stays small. */
  maxHostNames?: number;
}

/**
 * Why no host was chosen, as data: per filter in filter order, its reasons with how many hosts each removed
 * (the most common first), their names, and the most any of them had free of what they lacked.
 */
export function explain(runs: readonly FilterRun[], totalHosts: number, options: ExplainOptions = {}): Explanation {
  const maxNames = options.maxHostNames ?? 20;
  const filters = runs.map((run) => {
    const groups = new Map<string, Reason & { hosts: string[] }>();
    for (const removed of run.removed) {
      let group = groups.get(removed.reason);
      if (!group) groups.set(removed.reason, (group = { reason: removed.reason, count: 0, hosts: [] }));
      group.count++;
      if (group.hosts.length < maxNames) group.hosts.push(removed.host);
      if (removed.free !== undefined && (group.mostFree === undefined || removed.free > group.mostFree)) group.mostFree = removed.free;
    }
    // Array.prototype.sort is stable: equal counts keep the order in which hosts met them.
    const reasons = [...groups.values()].sort((a, b) => b.count - a.count);
    return { filter: run.filter, entered: run.entered, removed: run.removed.length, reasons };
  });
  const last = runs.at(-1);
  const passedAll = last ? last.entered - last.removed.length : totalHosts;
  const claimsLost = options.claimsLost ?? passedAll;
  return claimsLost > 0 ? { hosts: totalHosts, filters, claimsLost } : { hosts: totalHosts, filters };
}

/** The tenant's view: the same counts and reasons, without the names of the hosts. */
export function redactExplanation(e: Explanation): Explanation {
  return {
    ...e,
    filters: e.filters.map((f) => ({ ...f, reasons: f.reasons.map(({ hosts: _hosts, ...reason }) => reason) })),
  };
}

/** Reasons are written for one host; several hosts take the plural verb ("is disabled" → "are disabled"). */
const pluralVerbs: Record<string, string> = { is: 'are', has: 'have', was: 'were', does: 'do', can: 'can', cannot: 'cannot' };
const adverbs = new Set(['already', 'still', 'not']);

export function pluralReason(reason: string): string {
  const words = reason.split(' ');
  const at = words.findIndex((w) => !adverbs.has(w));
  const verb = words[at];
  if (verb === undefined) return reason;
  words[at] = pluralVerbs[verb] ?? (verb.endsWith('s') && !verb.endsWith('ss') ? verb.slice(0, -1) : verb);
  return words.join(' ');
}

/** How much a host had free of what a filter found short, in that filter's unit. */
function amount(filter: string, n: number): string {
  if (filter === 'RAM') return `${n} MB`;
  if (filter === 'Disk') return `${n} GB`;
  if (filter === 'CPU') return `${n} vCPU${n === 1 ? '' : 's'}`;
  return String(n);
}

function describeReason(filter: string, entered: number, r: Reason): string {
  const one = r.count === 1;
  const noun = (r.count < entered ? entered : r.count) === 1 ? 'host' : 'hosts';
  const subject = r.count < entered ? `${r.count} of ${entered} ${noun}` : `${r.count} ${noun}`;
  const more = r.hosts && r.count > r.hosts.length ? ` and ${r.count - r.hosts.length} more` : '';
  const names = r.hosts && r.hosts.length > 0 ? ` (${r.hosts.join(', ')}${more})` : '';
  const free = r.mostFree === undefined ? '' : one ? `, it has ${amount(filter, r.mostFree)} free` : `, they have at most ${amount(filter, r.mostFree)} free`;
  return `${subject}${names} ${one ? r.reason : pluralReason(r.reason)}${free}`;
}

/** One phrase per filter that removed hosts, then the lost claims: for a console to show as a list. */
export function explanationParts(e: Explanation): string[] {
  if (e.hosts === 0) return ['no compute host is registered'];
  const parts = e.filters.filter((f) => f.removed > 0).map((f) => `${f.filter}: ${f.reasons.map((r) => describeReason(f.filter, f.entered, r)).join('; ')}`);
  const lost = e.claimsLost ?? 0;
  if (lost > 0) {
    if (parts.length > 0) parts.push(`${lost} host${lost === 1 ? '' : 's'} passed every filter but could not be claimed (other builds took the room first)`);
    else if (lost === 1 && e.hosts === 1) parts.push('the only host could not be claimed (another build took the room first)');
    else parts.push(`none of ${lost} hosts could be claimed (other builds took the room first)`);
  }
  return parts;
}

/**
 * One line for a fault message: "No valid host: AvailabilityZone: 3 of 5 hosts are not in zone az2; RAM: 1 host
 * lacks 8192 MB of free RAM, it has 4096 MB free". Host names appear when the explanation carries them.
 */
export function describeExplanation(e: Explanation): string {
  const parts = explanationParts(e);
  return parts.length > 0 ? `No valid host: ${parts.join('; ')}` : 'No valid host';
}
