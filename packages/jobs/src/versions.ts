import { z } from 'zod';
import type { JobContract } from './contracts.ts';

/** The versions of a job that a receiver here handles, oldest and newest, both included. */
export function acceptedVersions(contract: JobContract): readonly [number, number] {
  return contract.accepts ?? [contract.version, contract.version];
}

/** "version 2 only", "versions 1 to 3": for messages. */
export function describeVersions([oldest, newest]: readonly [number, number]): string {
  return oldest === newest ? `version ${oldest} only` : `versions ${oldest} to ${newest}`;
}

/**
 * The newest version of each job this process may send (Nova's `version_cap`), so that a fleet is upgraded one
 * host at a time: while some receivers are older, their senders are capped to what those receivers accept. A
 * cap holds for every queue, or for one queue (a host's own, say); a queue's own cap, when it has one, rules
 * over the one for every queue. No cap: the contract's own version.
 */
export class VersionCaps {
  private readonly everywhere = new Map<string, number>();
  /** queue → job → cap. */
  private readonly byQueue = new Map<string, Map<string, number>>();

  constructor(caps: readonly VersionCap[] = []) {
    for (const cap of caps) this.set(cap.job, cap.version, cap.queue);
  }

  /** Caps `job` at `version` (null: lifts the cap), on every queue or on `queue` alone. */
  set(job: string, version: number | null, queue?: string): void {
    if (version !== null && (!Number.isInteger(version) || version < 1)) throw new Error(`a version cap must be a whole number from 1, not ${version} (${job})`);
    const caps = queue === undefined ? this.everywhere : (this.byQueue.get(queue) ?? new Map<string, number>());
    if (version === null) caps.delete(job);
    else caps.set(job, version);
    if (queue !== undefined) {
      if (caps.size) this.byQueue.set(queue, caps);
      else this.byQueue.delete(queue);
    }
  }

  /** The newest version of `job` that may go to `queue`, or undefined when not capped. */
  capOf(job: string, queue: string): number | undefined {
    return this.byQueue.get(queue)?.get(job) ?? this.everywhere.get(job);
  }
}

/** One cap: `job` sent at `version` at most, to `queue` or to every queue. */
export interface VersionCap {
  job: string;
  version: number;
  queue?: string;
}

/**
 * Caps as a setting writes them: `job=version` for every queue, `job@queue=version` for one queue, separated
 * by commas (`buildInstance=1,buildInstance@compute.host-7=2`). Throws on anything else, naming the part.
 */
export function parseVersionCaps(text: string): VersionCap[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const m = /^([A-Za-z][\w-]*)(?:@([\w.\-/]+))?=([1-9]\d*)$/.exec(part);
      if (!m) throw new Error(`version cap "${part}" is not job=version or job@queue=version`);
      return { job: m[1]!, version: Number(m[3]), ...(m[2] ? { queue: m[2] } : {}) };
    });
}

/**
 * What goes out for a job capped at `cap`: the contract's own version and the payload as it is, or, below it,
 * the payload as `downgrade` writes it for the cap. Throws, naming the job, the queue and both versions, when
 * the contract cannot write that version (no `downgrade`, or it answers null).
 */
export function versionToSend(contract: JobContract, payload: unknown, queue: string, cap: number | undefined): { v: number; payload: unknown } {
  if (cap === undefined || cap >= contract.version) return { v: contract.version, payload };
  const older = contract.downgrade?.(payload, cap);
  if (older === undefined || older === null) {
    throw new Error(
      `job ${contract.name} version ${contract.version} cannot be sent to ${queue}, which is capped at version ${cap}: ` +
        (contract.downgrade ? `this payload has no version ${cap} form` : `${contract.name} has no older form`),
    );
  }
  return { v: cap, payload: older };
}

/** A process's `ASTER_JOB_VERSION_CAPS` setting: empty (no cap) or caps as `parseVersionCaps` reads them. */
export const versionCapsSetting = z
  .string()
  .default('')
  .transform((text, ctx) => {
    try {
      return parseVersionCaps(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
