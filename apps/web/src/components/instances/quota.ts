import { formatMiB } from '../../lib/format';
import type { Flavor, Limits } from './types';

// -1 means unlimited.
const over = (need: number, left: number) => left >= 0 && need > left;

/** Whether `count` more servers pass the project's instances quota; in words when they do not. */
export function instancesOverQuota(count: number, limits: Limits | undefined): string | null {
  const left = limits?.remaining.instances ?? -1;
  return over(count, left) ? `Exceeds your quota: ${count} ${count === 1 ? 'instance' : 'instances'} needed, ${left} left` : null;
}

/** Whether `count` servers of `flavor` pass the cores and RAM quotas; in words when they do not. */
export function flavorOverQuota(flavor: Pick<Flavor, 'vcpus' | 'ramMb'>, count: number, limits: Limits | undefined): string | null {
  if (!limits) return null;
  const { cores, ramMb } = limits.remaining;
  const parts: string[] = [];
  if (over(flavor.vcpus * count, cores)) parts.push(`${flavor.vcpus * count} vCPUs needed, ${cores} left`);
  if (over(flavor.ramMb * count, ramMb)) parts.push(`${formatMiB(flavor.ramMb * count)} of RAM needed, ${formatMiB(ramMb)} left`);
  return parts.length ? `Exceeds your quota: ${parts.join('; ')}` : null;
}
