'use client';

import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/lib/trpc';
import { GROUP_NAMES_INPUT } from './inputs';

/** Security group ids to names; an id not found is shown by its beginning. */
export function useGroupNames(): (id: string) => string {
  const trpc = useTRPC();
  const groups = useQuery(trpc.securityGroups.list.queryOptions(GROUP_NAMES_INPUT));
  const names = new Map((groups.data ?? []).map((g) => [g.id, g.name]));
  return (id) => names.get(id) ?? id.slice(0, 8);
}
