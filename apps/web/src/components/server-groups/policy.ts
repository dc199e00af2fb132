/** Server group policies in words, as the app says them (the API takes Nova's names). */

export const POLICIES = ['anti-affinity', 'affinity', 'soft-anti-affinity', 'soft-affinity'] as const;
export type Policy = (typeof POLICIES)[number];

const LABELS: Record<Policy, string> = {
  affinity: 'Affinity',
  'anti-affinity': 'Anti-affinity',
  'soft-affinity': 'Soft affinity',
  'soft-anti-affinity': 'Soft anti-affinity',
};

const MEANINGS: Record<Policy, string> = {
  affinity: 'all members on one host; a launch fails when that host has no room',
  'anti-affinity': 'members on different hosts; a launch fails when no other host has room',
  'soft-affinity': 'members on one host when it has room, else elsewhere',
  'soft-anti-affinity': 'members spread over hosts as far as they go, never failing for it',
};

export function policyLabel(policy: string): string {
  return LABELS[policy as Policy] ?? policy;
}

/** "Anti-affinity: members on different hosts; …" */
export function policyMeaning(policy: string): string {
  const meaning = MEANINGS[policy as Policy];
  return meaning ? `${policyLabel(policy)}: ${meaning}` : policy;
}

/** "1 per host", "at most 2 per host"; only anti-affinity has a limit (1 unless set). */
export function perHostLimit(policy: string, maxServerPerHost: number | null): string {
  if (policy !== 'anti-affinity') return '—';
  const max = maxServerPerHost ?? 1;
  return max === 1 ? '1 per host' : `at most ${max} per host`;
}

/** What deleting a group does to its members (nothing: they stay where they run, out of any group). */
export function membersStay(count: number): string {
  if (count === 0) return 'It has no members.';
  if (count === 1) return 'Its one member keeps running where it is and just leaves the group.';
  return `Its ${count} members keep running where they are and just leave the group.`;
}

/** The id of a group's row on the server groups page, for links from elsewhere. */
export const groupAnchor = (id: string) => `group-${id}`;

export interface GroupDraft {
  name: string;
  policy: Policy;
  maxServerPerHost: string;
}

export type GroupProblems = Partial<Record<keyof GroupDraft, string>>;

/** What is wrong with the form before it is sent; the API checks again and its answer is shown too. */
export function validateGroup(d: GroupDraft): GroupProblems {
  const p: GroupProblems = {};
  const name = d.name.trim();
  if (!name) p.name = 'Name is required';
  else if (name.length > 255) p.name = 'Name must be at most 255 characters';
  if (d.policy === 'anti-affinity' && d.maxServerPerHost.trim()) {
    const max = Number(d.maxServerPerHost);
    if (!Number.isInteger(max) || max < 1) p.maxServerPerHost = 'Max servers per host must be a whole number, 1 or more';
  }
  return p;
}
