/** The API's limit on a lock's reason (servers.lock). */
export const MAX_LOCK_REASON = 255;

/** What is wrong with a lock's reason as typed, or null; blank means no reason. */
export function lockReasonProblem(reason: string): string | null {
  const length = reason.trim().length;
  return length > MAX_LOCK_REASON ? `Reason must be at most ${MAX_LOCK_REASON} characters (now ${length})` : null;
}

/** The reason to send with a lock: trimmed, and left out when blank. */
export function lockInput(id: string, reason: string | undefined): { id: string; reason?: string } {
  const trimmed = reason?.trim();
  return trimmed ? { id, reason: trimmed } : { id };
}

/**
 * The overview's words for a server's lock: "Locked by owner: nightly backup". Who locked it shows where the
 * server view says (`lockedBy`); without it the lock and its reason still do.
 */
export function lockNote(server: { locked: boolean; lockedReason: string | null; lockedBy?: 'owner' | 'admin' | null }): string {
  if (!server.locked) return 'No';
  const who = server.lockedBy ? `Locked by ${server.lockedBy}` : 'Locked';
  return server.lockedReason ? `${who}: ${server.lockedReason}` : who;
}
