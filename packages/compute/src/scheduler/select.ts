import { runFilters, type FilterRun } from './filters/index.ts';
import type { HostFilter, HostState, RequestSpec } from './types.ts';
import { weighHosts, type WeighedBy, type WeighedHost } from './weighers.ts';

/**
 * Nova's host_subset_size: choose at random among the best `hostSubsetSize` (at least 1), so that schedulers
 * working at once do not all race for the same host. Answers the chosen one first, then the rest in order:
 * those are the alternates.
 */
export function pickHost(weighed: readonly WeighedHost[], hostSubsetSize: number, random: () => number = Math.random): HostState[] {
  const ordered = weighed.map((w) => w.host);
  if (ordered.length < 2) return ordered;
  const subset = Math.min(Math.max(1, Math.floor(hostSubsetSize)), ordered.length);
  const chosen = Math.min(subset - 1, Math.floor(random() * subset));
  if (chosen > 0) ordered.unshift(...ordered.splice(chosen, 1));
  return ordered;
}

export interface SelectOptions {
  filters: readonly HostFilter[];
  weighers: readonly WeighedBy[];
  hostSubsetSize?: number;
  random?: () => number;
  /**
   * The caller's last say on the order, after the pick: it may move hosts (a scheduler moves last those it is
   * claiming on at this moment), never add or drop one.
   */
  reorder?: (ordered: HostState[], spec: RequestSpec) => HostState[];
}

export interface Selection {
  /** Every host that passed, the chosen one first: the caller claims down the list and keeps the next as alternates. */
  ordered: HostState[];
  runs: FilterRun[];
}

/** Filters, weighs, picks and lets the caller reorder, in one call. */
export function selectHosts(hosts: readonly HostState[], spec: RequestSpec, options: SelectOptions): Selection {
  const { passed, runs } = runFilters(hosts, spec, options.filters);
  const picked = pickHost(weighHosts(passed, spec, options.weighers), options.hostSubsetSize ?? 1, options.random);
  return { ordered: options.reorder ? options.reorder(picked, spec) : picked, runs };
}

/**
 * A seeded random in [0, 1) (mulberry32): a pick, a test or a benchmark's plan that draws from it is the same
 * on every run.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
