import type { HostFilter } from '../types.ts';
import { pass, refuse } from './result.ts';

/*
 * Hard server-group policies. `memberHosts` counts the group's other members per host, so each check is one
 * lookup. The soft policies never remove a host; their weighers prefer some hosts instead.
 */

/** Nova's ServerGroupAffinityFilter: once a member is placed, the others go where it is. */
export const serverGroupAffinityFilter: HostFilter = {
  name: 'ServerGroupAffinity',
  check(host, spec) {
    const group = spec.group;
    if (!group || group.policy !== 'affinity') return pass;
    if ((group.memberHosts[host.host] ?? 0) > 0) return pass;
    // The first member may go anywhere: only refuse when some member already holds a place.
    for (const name in group.memberHosts) {
      if ((group.memberHosts[name] ?? 0) > 0) return refuse(`does not run the other members of group ${group.name}`);
    }
    return pass;
  },
};

/** Nova's ServerGroupAntiAffinityFilter, with max_server_per_host (members one host may run, 1 unless set). */
export const serverGroupAntiAffinityFilter: HostFilter = {
  name: 'ServerGroupAntiAffinity',
  check(host, spec) {
    const group = spec.group;
    if (!group || group.policy !== 'anti-affinity') return pass;
    const members = group.memberHosts[host.host] ?? 0;
    const max = Math.max(1, group.maxServerPerHost);
    if (members < max) return pass;
    if (members === 1) return refuse(`already runs a member of group ${group.name}`);
    return refuse(`already runs ${members} members of group ${group.name}, at most ${max} per host`);
  },
};
