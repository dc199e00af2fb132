import { readFileSync } from 'node:fs';
import { treeCpuSeconds } from './measure.ts';

/**
 * Postgres's CPU seconds: its live processes' and those of the backends already gone (a pool closes idle
 * connections), which the postmaster's own counters of reaped children keep.
 */
export function postgresCpuSeconds(postmaster: number): number {
  try {
    const stat = readFileSync(`/proc/${postmaster}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return treeCpuSeconds(postmaster) + (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return treeCpuSeconds(postmaster);
  }
}
