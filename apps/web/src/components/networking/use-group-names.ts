'use client';

import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/lib/trpc';

/** Security group ids to names (the project's groups); an id not found is shown as it is. */
export function useGroupNames(): (id: string) => string {
  const trpc = useTRPC();
  const groups = useQuery(trpc.securityGroups.list.queryOptions());
  const names = new Map((groups.data ?? []).map((g) => [g.id, g.name]));
  return (id) => names.get(id) ?? id.slice(0, 8);
}
