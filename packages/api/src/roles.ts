/** Roles on a project. Each role implies the ones after it (admin ⊇ member ⊇ reader), as Keystone's implied roles. */
export const roles = ['admin', 'member', 'reader'] as const;
export type Role = (typeof roles)[number];

const rank: Record<Role, number> = { admin: 3, member: 2, reader: 1 };

export function highestRole(held: readonly Role[]): Role | null {
  let best: Role | null = null;
  for (const r of held) if (best === null || rank[r] > rank[best]) best = r;
  return best;
}

export function satisfies(held: readonly Role[], needed: Role): boolean {
  return held.some((r) => rank[r] >= rank[needed]);
}

/** The roles a holder of `role` effectively has, highest first. */
export function impliedBy(role: Role): Role[] {
  return roles.filter((r) => rank[r] <= rank[role]);
}
