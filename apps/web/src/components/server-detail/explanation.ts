/**
 * The scheduler's explanation of a NoValidHost fault, turned into sentences: one line per filter that removed
 * hosts, one per reason under it. Pure, so the wording is tested without a browser.
 */

/** The explanation as the API gives it (tenants get no host names). */
export interface ExplanationView {
  hosts: number;
  filters: {
    filter: string;
    entered: number;
    removed: number;
    reasons: { reason: string; count: number; hosts?: string[] | undefined; mostFree?: number | undefined }[];
  }[];
  claimsLost?: number | undefined;
}

export interface ReasonLine {
  text: string;
  /** Host names, for administrators only. */
  hosts: string[] | null;
}

export interface FilterLine {
  filter: string;
  /** "3 of 5 hosts removed" */
  summary: string;
  reasons: ReasonLine[];
}

export interface ExplanationText {
  /** What the scheduler started from. */
  intro: string;
  filters: FilterLine[];
  /** Filters that let every host through, in order. */
  passedAll: string[];
  /** Hosts that passed every filter but were taken by other builds first, in words; null when none. */
  claims: string | null;
}

export const hostsWord = (n: number) => (n === 1 ? 'host' : 'hosts');

// Words that may come before the verb of a reason ("already runs a member …").
const ADVERBS = new Set(['already', 'still', 'also', 'only', 'never', 'currently']);
const IRREGULAR: Record<string, string> = { is: 'are', was: 'were', has: 'have', does: 'do', lacks: 'lack' };

/** A verb in the third person singular, in the plural: "runs" → "run", "carries" → "carry", "pushes" → "push". */
function pluralVerb(verb: string): string {
  const irregular = IRREGULAR[verb];
  if (irregular) return irregular;
  if (/[^aeiou]ies$/.test(verb)) return `${verb.slice(0, -3)}y`;
  if (/(ch|sh|x|ss|z)es$/.test(verb)) return verb.slice(0, -2);
  if (/[^su]s$/.test(verb)) return verb.slice(0, -1);
  return verb;
}

/**
 * A reason written for one host ("is not in zone az2"), said of `count` hosts: "3 hosts are not in zone az2",
 * "1 host already runs a member of group web".
 */
export function reasonSentence(reason: string, count: number): string {
  if (count === 1) return `1 host ${reason}`;
  const words = reason.split(' ');
  const at = words.findIndex((w) => !ADVERBS.has(w));
  if (at >= 0) words[at] = pluralVerb(words[at]!);
  return `${count} hosts ${words.join(' ')}`;
}

/** The unit of a reason's amount ("lacks 8192 MB of free RAM" → "MB"), to say how much the best host had. */
function unitOf(reason: string): string {
  return /\b\d+(?:\.\d+)?\s+(MB|GB|MiB|GiB|vCPUs?)\b/.exec(reason)?.[1] ?? '';
}

function mostFreeText(reason: string, count: number, mostFree: number): string {
  const unit = unitOf(reason);
  const amount = unit ? `${mostFree} ${unit}` : String(mostFree);
  return count === 1 ? `it has ${amount} free` : `the most any of them has free is ${amount}`;
}

export function describeReason(r: ExplanationView['filters'][number]['reasons'][number]): ReasonLine {
  const sentence = reasonSentence(r.reason, r.count);
  const text = r.mostFree === undefined ? sentence : `${sentence}; ${mostFreeText(r.reason, r.count, r.mostFree)}`;
  return { text, hosts: r.hosts?.length ? r.hosts : null };
}

/** The whole explanation in sentences, filters in the order the scheduler ran them. */
export function describeExplanation(e: ExplanationView): ExplanationText {
  const intro = e.hosts === 0 ? 'No compute host is registered.' : `The scheduler considered ${e.hosts} ${hostsWord(e.hosts)}.`;
  const filters: FilterLine[] = [];
  const passedAll: string[] = [];
  for (const f of e.filters) {
    if (f.removed === 0) {
      if (f.entered > 0) passedAll.push(f.filter);
      continue;
    }
    filters.push({ filter: f.filter, summary: `${f.removed} of ${f.entered} ${hostsWord(f.entered)} removed`, reasons: f.reasons.map(describeReason) });
  }
  const lost = e.claimsLost ?? 0;
  const claims =
    lost > 0
      ? `${lost} ${hostsWord(lost)} passed every filter, but other builds took ${lost === 1 ? 'its' : 'their'} room first.`
      : null;
  return { intro, filters, passedAll, claims };
}

/** At most `max` host names, then how many more: "a, b, c and 12 more". */
export function hostList(hosts: string[], max = 10): string {
  if (hosts.length <= max) return hosts.join(', ');
  return `${hosts.slice(0, max).join(', ')} and ${hosts.length - max} more`;
}
