/**
 * What `bench:scheduler` asks for, decided before the first request: which client sends which create, with
 * which flavor, zone, group and count. Pure and seeded, so two runs ask for the same servers.
 */

import { seededRandom } from '@aster/compute';

/** vCPUs, MB, GB, and how often each is asked for (shares of 100). */
export const benchFlavors = [
  { name: 'bench.1c512m', vcpus: 1, ramMb: 512, diskGb: 1, share: 30 },
  { name: 'bench.1c2g', vcpus: 1, ramMb: 2048, diskGb: 10, share: 30 },
  { name: 'bench.2c4g', vcpus: 2, ramMb: 4096, diskGb: 20, share: 20 },
  { name: 'bench.4c8g', vcpus: 4, ramMb: 8192, diskGb: 40, share: 12 },
  { name: 'bench.8c16g', vcpus: 8, ramMb: 16_384, diskGb: 40, share: 8 },
] as const;

export interface PlanOptions {
  servers: number;
  clients: number;
  projects: number;
  /** Server groups exist in the API: 10% of servers go into anti-affinity groups of 5. */
  groups: boolean;
  /** Availability zones exist in the API: 15% of creates ask az1, 15% az2, the rest any. */
  zones: boolean;
  /** Share of the servers outside groups created `multiCount` at a time. */
  multiShare: number;
  multiCount: number;
  seed?: number;
}

export interface CreateRequest {
  flavor: number;
  zone: 'az1' | 'az2' | null;
  /** Index into the plan's groups. */
  group: number | null;
  count: number;
}

export interface GroupPlan {
  project: number;
  /** Anti-affinity members allowed per host; null is Nova's default of 1. */
  maxServerPerHost: number | null;
  size: number;
}

export interface Plan {
  /** One list per client; client c works for project c % projects. */
  clients: CreateRequest[][];
  groups: GroupPlan[];
  creates: number;
  multiCreates: number;
}

export const GROUP_SIZE = 5;

const random = seededRandom;

export function plan(o: PlanOptions): Plan {
  if (o.clients < o.projects) throw new Error(`${o.clients} clients cannot serve ${o.projects} projects: give each project a client`);
  const next = random(o.seed ?? 42);
  const flavor = () => {
    let r = next() * 100;
    for (let i = 0; i < benchFlavors.length; i++) {
      r -= benchFlavors[i]!.share;
      if (r < 0) return i;
    }
    return benchFlavors.length - 1;
  };
  const zone = (): CreateRequest['zone'] => {
    if (!o.zones) return null;
    const r = next();
    return r < 0.15 ? 'az1' : r < 0.3 ? 'az2' : null;
  };
  const clients: CreateRequest[][] = Array.from({ length: o.clients }, () => []);
  const clientsOf = (project: number) => clients.map((_, c) => c).filter((c) => c % o.projects === project);

  // Group members are sent one by one, alternating between the project's clients, so they race each other.
  const groups: GroupPlan[] = [];
  const groupCount = o.groups ? Math.floor((o.servers * 0.1) / GROUP_SIZE) : 0;
  for (let g = 0; g < groupCount; g++) {
    const project = g % o.projects;
    groups.push({ project, maxServerPerHost: g % 10 === 9 ? 2 : null, size: GROUP_SIZE });
    const mine = clientsOf(project);
    for (let k = 0; k < GROUP_SIZE; k++) clients[mine[k % mine.length]!]!.push({ flavor: flavor(), zone: null, group: g, count: 1 });
  }

  let rest = o.servers - groupCount * GROUP_SIZE;
  let multiLeft = Math.floor((rest * o.multiShare) / o.multiCount);
  const multiCreates = multiLeft;
  while (rest > 0) {
    const count = multiLeft > 0 ? o.multiCount : 1;
    if (multiLeft > 0) multiLeft--;
    clients[Math.floor(next() * o.clients)]!.push({ flavor: flavor(), zone: zone(), group: null, count });
    rest -= count;
  }
  // Shuffled, so that group members, multi-creates and zones are spread over the whole run.
  for (const list of clients) {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
  }
  return { clients, groups, creates: clients.reduce((n, l) => n + l.length, 0), multiCreates };
}
