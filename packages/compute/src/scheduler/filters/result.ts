import type { FilterResult } from '../types.ts';

/** The one "pass" answer: shared, so passing a host allocates nothing. */
export const pass: FilterResult = { pass: true };

export function refuse(reason: string, free?: number): FilterResult {
  return free === undefined ? { pass: false, reason } : { pass: false, reason, free };
}

/** "1 vCPU", "4 vCPUs". */
export const vcpus = (n: number) => `${n} vCPU${n === 1 ? '' : 's'}`;
