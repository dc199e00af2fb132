import { describe, expect, it } from 'vitest';
import { describeExplanation, hostList, reasonSentence, type ExplanationView } from '../src/components/server-detail/explanation.ts';
import { membersStay, perHostLimit, policyLabel, validateGroup } from '../src/components/server-groups/policy.ts';

describe('a reason said of many hosts', () => {
  it('keeps one host in the singular and puts the verb of many in the plural', () => {
    expect(reasonSentence('is not in zone az2', 1)).toBe('1 host is not in zone az2');
    expect(reasonSentence('is not in zone az2', 3)).toBe('3 hosts are not in zone az2');
    expect(reasonSentence('already runs a member of group web', 2)).toBe('2 hosts already run a member of group web');
    expect(reasonSentence('lacks 8192 MB of free RAM', 4)).toBe('4 hosts lack 8192 MB of free RAM');
    expect(reasonSentence('was already tried for this build', 2)).toBe('2 hosts were already tried for this build');
    expect(reasonSentence('has less than the image’s minimum of 2048 MB RAM in total', 2)).toBe('2 hosts have less than the image’s minimum of 2048 MB RAM in total');
    expect(reasonSentence('matches no aggregate', 2)).toBe('2 hosts match no aggregate');
    expect(reasonSentence('carries no trait X', 2)).toBe('2 hosts carry no trait X');
    expect(reasonSentence('cannot give that much to one instance', 2)).toBe('2 hosts cannot give that much to one instance');
  });
});

const tenantView: ExplanationView = {
  hosts: 5,
  filters: [
    { filter: 'Compute', entered: 5, removed: 0, reasons: [] },
    { filter: 'AvailabilityZone', entered: 5, removed: 3, reasons: [{ reason: 'is not in zone az2', count: 3 }] },
    {
      filter: 'RAM',
      entered: 2,
      removed: 2,
      reasons: [
        { reason: 'lacks 8192 MB of free RAM', count: 1, mostFree: 4096 },
        { reason: 'is down', count: 1 },
      ],
    },
  ],
};

describe('the explanation of a NoValidHost fault', () => {
  it('says per filter how many hosts it removed and why, in the order the filters ran', () => {
    const text = describeExplanation(tenantView);
    expect(text.intro).toBe('The scheduler considered 5 hosts.');
    expect(text.filters).toEqual([
      { filter: 'AvailabilityZone', summary: '3 of 5 hosts removed', reasons: [{ text: '3 hosts are not in zone az2', hosts: null }] },
      {
        filter: 'RAM',
        summary: '2 of 2 hosts removed',
        reasons: [
          { text: '1 host lacks 8192 MB of free RAM; it has 4096 MB free', hosts: null },
          { text: '1 host is down', hosts: null },
        ],
      },
    ]);
    expect(text.passedAll).toEqual(['Compute']);
    expect(text.claims).toBeNull();
  });

  it('names the hosts when the explanation carries them (an administrator’s view)', () => {
    const admin: ExplanationView = {
      hosts: 1,
      filters: [{ filter: 'ServerGroupAntiAffinity', entered: 1, removed: 1, reasons: [{ reason: 'already runs a member of group web', count: 1, hosts: ['compute-1'] }] }],
    };
    expect(describeExplanation(admin).filters[0]).toEqual({
      filter: 'ServerGroupAntiAffinity',
      summary: '1 of 1 host removed',
      reasons: [{ text: '1 host already runs a member of group web', hosts: ['compute-1'] }],
    });
  });

  it('says the most any refused host had free, with the unit of the reason', () => {
    const e: ExplanationView = { hosts: 3, filters: [{ filter: 'CPU', entered: 3, removed: 3, reasons: [{ reason: 'lacks 4 vCPUs', count: 3, mostFree: 2 }] }] };
    expect(describeExplanation(e).filters[0]?.reasons[0]?.text).toBe('3 hosts lack 4 vCPUs; the most any of them has free is 2 vCPUs');
  });

  it('says when there is no host at all, and when claims were lost to other builds', () => {
    expect(describeExplanation({ hosts: 0, filters: [] })).toEqual({ intro: 'No compute host is registered.', filters: [], passedAll: [], claims: null });
    const lost = describeExplanation({ hosts: 2, filters: [{ filter: 'Compute', entered: 2, removed: 0, reasons: [] }], claimsLost: 2 });
    expect(lost.claims).toBe('2 hosts passed every filter, but other builds took their room first.');
    expect(describeExplanation({ hosts: 1, filters: [], claimsLost: 1 }).claims).toBe('1 host passed every filter, but other builds took its room first.');
  });

  it('shortens a long list of host names', () => {
    expect(hostList(['a', 'b'])).toBe('a, b');
    expect(hostList(Array.from({ length: 13 }, (_, i) => `h${i}`), 3)).toBe('h0, h1, h2 and 10 more');
  });
});

describe('server group policies in words', () => {
  it('names each policy and its per-host limit', () => {
    expect(policyLabel('soft-anti-affinity')).toBe('Soft anti-affinity');
    expect(policyLabel('something-new')).toBe('something-new');
    expect(perHostLimit('anti-affinity', null)).toBe('1 per host');
    expect(perHostLimit('anti-affinity', 3)).toBe('at most 3 per host');
    expect(perHostLimit('affinity', null)).toBe('—');
  });

  it('checks the create form: a name, and a whole max of at least 1 for anti-affinity only', () => {
    expect(validateGroup({ name: ' ', policy: 'affinity', maxServerPerHost: '' })).toEqual({ name: 'Name is required' });
    expect(validateGroup({ name: 'web', policy: 'anti-affinity', maxServerPerHost: '0' })).toEqual({ maxServerPerHost: 'Max servers per host must be a whole number, 1 or more' });
    expect(validateGroup({ name: 'web', policy: 'anti-affinity', maxServerPerHost: '1.5' })).toHaveProperty('maxServerPerHost');
    expect(validateGroup({ name: 'web', policy: 'anti-affinity', maxServerPerHost: '2' })).toEqual({});
    expect(validateGroup({ name: 'web', policy: 'affinity', maxServerPerHost: '0' })).toEqual({});
  });

  it('tells what deleting a group does to its members', () => {
    expect(membersStay(0)).toBe('It has no members.');
    expect(membersStay(1)).toBe('Its one member keeps running where it is and just leaves the group.');
    expect(membersStay(3)).toBe('Its 3 members keep running where they are and just leave the group.');
  });
});
