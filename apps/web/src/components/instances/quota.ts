import type { Flavor, Limits } from './types';

/** What `count` servers of `flavor` need beyond the remaining quota, in words; null when they fit. */
export function quotaProblem(flavor: Pick<Flavor, 'vcpus' | 'ramMb'>, count: number, limits: Limits | undefined): string | null {
  if (!limits) return null;
  const left = limits.remaining;
  const over: string[] = [];
  // -1 means unlimited.
  const check = (need: number, have: number, what: string) => {
    if (have >= 0 && need > have) over.push(`${need} ${what} needed, ${have} left`);
  };
  check(count, left.instances, count === 1 ? 'instance' : 'instances');
  check(flavor.vcpus * count, left.cores, 'vCPUs');
  check(flavor.ramMb * count, left.ramMb, 'MB RAM');
  return over.length ? `Exceeds your quota: ${over.join('; ')}` : null;
}
