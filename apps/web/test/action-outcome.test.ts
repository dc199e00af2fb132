import { describe, expect, it } from 'vitest';
import type { ActionKind } from '../src/components/server-actions/kinds.ts';
import { type ActionRecord, ended, type Followed, judge, refused, type ServerView, step } from '../src/components/server-actions/outcome.ts';

const view = (over: Partial<ServerView> = {}): ServerView => ({
  id: 's1',
  name: 'web-1',
  status: 'ACTIVE',
  taskState: null,
  changeSeq: '10',
  deletedAt: null,
  fault: null,
  flavor: { name: 'm1.small' },
  image: { name: 'aster-tiny' },
  ...over,
});

const followed = (kind: Followed['kind'], over: Partial<Followed> = {}): Followed => ({ kind, input: {}, since: 10n, answeredWithView: true, ...over });

const action = (over: Partial<ActionRecord> = {}): ActionRecord => ({ requestId: 'req-1', message: null, finishedAt: '2026-01-01T00:00:00Z', events: [], ...over });

describe('following a server action to its end', () => {
  it('waits while the server is busy, and on views not newer than the answer', () => {
    const stop = followed('stop');
    expect(step(stop, view({ status: 'ACTIVE', taskState: 'powering_off', changeSeq: '11' }))).toBe('wait');
    // The answer's own change (or an older replay) shows nothing new, even when idle.
    expect(step(stop, view({ status: 'ACTIVE', changeSeq: '10' }))).toBe('wait');
    expect(step(stop, view({ status: 'ACTIVE', changeSeq: '9' }))).toBe('wait');
  });

  it('says a stop is done only once the server is SHUTOFF and idle, and asks the action log first', () => {
    const stop = followed('stop');
    const idle = view({ status: 'SHUTOFF', changeSeq: '12' });
    expect(step(stop, idle)).toBe('ask-log');
    expect(judge(stop, idle, action())).toEqual({ ok: true, message: 'web-1 is stopped' });
  });

  it('reports the host’s failure from the action filed under the call’s request id', () => {
    const reboot = followed('rebootSoft');
    const back = view({ status: 'ACTIVE', changeSeq: '12' });
    const failed = action({ events: [{ event: 'compute_reboot', result: 'Error', details: 'the guest did not come back' }] });
    expect(judge(reboot, back, failed)).toEqual({ ok: false, message: 'Rebooting web-1 failed: the guest did not come back' });
  });

  it('fails an action whose server comes back idle in another status', () => {
    expect(judge(followed('stop'), view({ status: 'ACTIVE', changeSeq: '12' }), action())).toEqual({ ok: false, message: 'Stopping web-1 failed: it is ACTIVE' });
  });

  it('fails at once on ERROR with the fault, unless ERROR is where the action leads', () => {
    const error = view({ status: 'ERROR', changeSeq: '12', fault: { message: 'No valid host: RAM: 1 host lacks 512 MB of free RAM' } });
    expect(step(followed('create'), error)).toEqual({ ok: false, message: 'web-1 is ERROR: No valid host: RAM: 1 host lacks 512 MB of free RAM' });
    expect(step(followed('start'), view({ status: 'ERROR', changeSeq: '12' }))).toEqual({ ok: false, message: 'web-1 is ERROR' });
  });

  it('calls a launch done when it is ACTIVE, even after a build that failed on another host', () => {
    expect(step(followed('create'), view({ status: 'ACTIVE', changeSeq: '12' }))).toEqual({ ok: true, message: 'web-1 is running' });
  });

  it('says a delete is done when the server is gone, and any other action failed then', () => {
    const gone = view({ status: 'DELETED', changeSeq: '12', deletedAt: '2026-01-01T00:00:00Z' });
    expect(step(followed('delete'), gone)).toEqual({ ok: true, message: 'web-1 is deleted' });
    expect(step(followed('stop'), gone)).toEqual({ ok: false, message: 'Stopping web-1 failed: the server was deleted' });
    expect(step(followed('delete'), view({ taskState: 'deleting', changeSeq: '11' }))).toBe('wait');
  });

  it('ends a confirmed resize with the answer, in its own words (not a lock’s)', () => {
    const confirm = followed('confirmResize');
    const answer = view({ status: 'ACTIVE', changeSeq: '10' });
    expect(step(confirm, answer, true)).toBe('ask-log');
    expect(ended(confirm, answer)).toEqual({ ok: true, message: 'The resize of web-1 is confirmed: it keeps m1.small' });
    expect(ended(followed('confirmResize'), view({ status: 'SHUTOFF' })).ok).toBe(true);
    expect(ended(followed('lock'), view())).toEqual({ ok: true, message: 'web-1 is locked' });
    expect(ended(followed('unlock'), view())).toEqual({ ok: true, message: 'web-1 is unlocked' });
  });

  it('waits for an image’s action to finish when the API answered with the image, not the server', () => {
    const snapshot = followed('createImage', { answeredWithView: false, input: { name: 'web-1-snap' } });
    const idle = view({ changeSeq: '11' });
    expect(judge(snapshot, idle, action({ finishedAt: null }))).toBe('wait');
    expect(judge(snapshot, idle, action())).toEqual({ ok: true, message: 'Image web-1-snap of web-1 is saved' });
  });

  it('has words for every action, done and refused', () => {
    const kinds: ActionKind[] = ['start', 'stop', 'rebootSoft', 'rebootHard', 'pause', 'unpause', 'suspend', 'resume', 'lock', 'unlock', 'resize', 'confirmResize', 'revertResize', 'rebuild', 'createImage', 'rescue', 'unrescue', 'delete'];
    for (const kind of kinds) {
      expect(refused(kind, 'web-1', 'Cannot do that').message).toMatch(/^\S.* web-1 failed: Cannot do that$/);
    }
    expect(ended(followed('resize'), view({ status: 'VERIFY_RESIZE' })).message).toBe('web-1 is resized to m1.small: confirm or revert the resize');
    expect(ended(followed('pause'), view({ status: 'PAUSED' })).message).toBe('web-1 is paused');
  });
});
