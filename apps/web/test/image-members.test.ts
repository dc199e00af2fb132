import { describe, expect, it } from 'vitest';
import { showsMembers } from '../src/components/resources/images/members.ts';

describe('the members of a shared image', () => {
  it('are managed only on shared images, by the owning project or an administrator', () => {
    const viewer = { projectId: 'p1', isAdmin: false };
    expect(showsMembers({ visibility: 'shared', owner: 'p1' }, viewer)).toBe(true);
    expect(showsMembers({ visibility: 'private', owner: 'p1' }, viewer)).toBe(false);
    expect(showsMembers({ visibility: 'public', owner: 'p1' }, viewer)).toBe(false);
    expect(showsMembers({ visibility: 'shared', owner: 'p2' }, viewer)).toBe(false);
    expect(showsMembers({ visibility: 'shared', owner: 'p2' }, { projectId: 'p1', isAdmin: true })).toBe(true);
  });
});
