import { describe, expect, it } from 'vitest';
import { lockInput, lockNote, lockReasonProblem, MAX_LOCK_REASON } from '../src/components/server-detail/lock.ts';

describe('a lock and its reason', () => {
  it('accepts no reason and up to 255 characters, and says how long a longer one is', () => {
    expect(lockReasonProblem('')).toBeNull();
    expect(lockReasonProblem('x'.repeat(MAX_LOCK_REASON))).toBeNull();
    expect(lockReasonProblem(`  ${'x'.repeat(MAX_LOCK_REASON)}  `)).toBeNull();
    expect(lockReasonProblem('x'.repeat(MAX_LOCK_REASON + 1))).toBe('Reason must be at most 255 characters (now 256)');
  });

  it('sends a trimmed reason, and none when blank', () => {
    expect(lockInput('s1', '  nightly backup ')).toEqual({ id: 's1', reason: 'nightly backup' });
    expect(lockInput('s1', '   ')).toEqual({ id: 's1' });
    expect(lockInput('s1', undefined)).toEqual({ id: 's1' });
  });

  it('says who locked it and why where the view tells', () => {
    expect(lockNote({ locked: false, lockedReason: null })).toBe('No');
    expect(lockNote({ locked: true, lockedReason: null })).toBe('Locked');
    expect(lockNote({ locked: true, lockedReason: 'nightly backup' })).toBe('Locked: nightly backup');
    expect(lockNote({ locked: true, lockedReason: 'nightly backup', lockedBy: 'owner' })).toBe('Locked by owner: nightly backup');
    expect(lockNote({ locked: true, lockedReason: null, lockedBy: 'admin' })).toBe('Locked by admin');
  });
});
