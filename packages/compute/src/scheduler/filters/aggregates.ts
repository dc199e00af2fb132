import type { HostAggregate, HostFilter } from '../types.ts';
import { requirement } from './extra-specs.ts';
import { pass, refuse } from './result.ts';

const SCOPE = 'aggregate_instance_extra_specs';

interface Wanted {
  key: string;
  matches: (value: string) => boolean;
  reason: string;
}

/**
 * The flavor's extra specs this filter judges, as Nova does: keys in the `aggregate_instance_extra_specs:`
 * scope, and unscoped keys (no `:`) too; keys of any other scope (`hw:`, `quota:`, `trait:` …) are not its business.
 */
function wantedOf(extraSpecs: Record<string, string>): Wanted[] {
  const wanted: Wanted[] = [];
  for (const [fullKey, req] of Object.entries(extraSpecs)) {
    const colon = fullKey.indexOf(':');
    if (colon >= 0 && fullKey.slice(0, colon) !== SCOPE) continue;
    const key = colon >= 0 ? fullKey.slice(colon + 1) : fullKey;
    wanted.push({ key, matches: requirement(req), reason: `has no aggregate matching ${key}=${req}` });
  }
  return wanted;
}

// Parsed once per flavor's extra specs object, not once per host.
const parsed = new WeakMap<Record<string, string>, Wanted[]>();

/** Nova's aggregate_metadata_get_by_host: a key's values across the host's aggregates, each a comma list. */
function anyValueMatches(aggregates: HostAggregate[], w: Wanted): boolean {
  for (const aggregate of aggregates) {
    const raw = aggregate.metadata[w.key];
    if (raw === undefined) continue;
    let start = 0;
    for (;;) {
      const comma = raw.indexOf(',', start);
      const value = (comma < 0 ? raw.slice(start) : raw.slice(start, comma)).trim();
      if (w.matches(value)) return true;
      if (comma < 0) break;
      start = comma + 1;
    }
  }
  return false;
}

/** Nova's AggregateInstanceExtraSpecsFilter: every judged extra spec matches a value in one of the host's aggregates. */
export const aggregateInstanceExtraSpecsFilter: HostFilter = {
  name: 'AggregateInstanceExtraSpecs',
  check(host, spec) {
    let wanted = parsed.get(spec.flavorExtraSpecs);
    if (!wanted) parsed.set(spec.flavorExtraSpecs, (wanted = wantedOf(spec.flavorExtraSpecs)));
    for (const w of wanted) if (!anyValueMatches(host.aggregates, w)) return refuse(w.reason);
    return pass;
  },
};
