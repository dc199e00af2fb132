import type { GroupRequest, HostFilter } from '../types.ts';
import { pass, refuse } from './result.ts';

/*
 * Hard server-group policies. `memberHosts` counts the group's other members per host, so each check is one
 * lookup. The soft policies never remove a host; their weighers prefer some hosts instead.
 */

/**
 * Why the group's hard policy keeps one more member off `host`, or null when it allows it: the filters' test,
 * and the claim's, which asks again under the group's lock with where the members are then.
 */
export function groupRefusal(group: GroupRequest, host: string): string | null {
  const members = group.memberHosts[host] ?? 0;
  if (group.policy === 'affinity') {
    if (members > 0) return null;
    // The first member may go anywhere: only refuse when some member already holds a place.
    for (const name in group.memberHosts) {
      if ((group.memberHosts[name] ?? 0) > 0) return `does not run the other members of group ${group.name}`;
    }
    return null;
  }
  if (group.policy === 'anti-affinity') {
    const max = Math.max(1, group.maxServerPerHost);
    if (members < max) return null;
    if (members === 1) return `already runs a member of group ${group.name}`;
    return `already runs ${members} members of group ${group.name}, at most ${max} per host`;
  }
  return null;
}

/** Nova's ServerGroupAffinityFilter: once a member is placed, the others go where it is. */
export const serverGroupAffinityFilter: HostFilter = {
  name: 'ServerGroupAffinity',
  check(host, spec) {
    if (spec.group?.policy !== 'affinity') return pass;
    const why = groupRefusal(spec.group, host.host);
    return why ? refuse(why) : pass;
  },
};

/** Nova's ServerGroupAntiAffinityFilter, with max_server_per_host (members one host may run, 1 unless set). */
export const serverGroupAntiAffinityFilter: HostFilter = {
  name: 'ServerGroupAntiAffinity',
  check(host, spec) {
    if (spec.group?.policy !== 'anti-affinity') return pass;
    const why = groupRefusal(spec.group, host.host);
    return why ? refuse(why) : pass;
  },
};
