'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import { groupAnchor, policyLabel } from '@/components/server-groups/policy';
import ui from '@/components/ui/ui.module.css';

/** The server's group by name and policy, linked to its row on the server groups page. */
export function ServerGroupLink({ id }: { id: string }) {
  const trpc = useTRPC();
  const group = useQuery(trpc.serverGroups.get.queryOptions({ id }));
  const href = `/server-groups#${groupAnchor(id)}`;
  if (group.error) {
    return (
      <>
        <Link href={href}>{id}</Link> <span className={ui.muted}>({describeApiError(group.error)})</span>
      </>
    );
  }
  if (!group.data) return <Link href={href}>{id}</Link>;
  return (
    <>
      <Link href={href}>{group.data.name}</Link> <span className={ui.muted}>({policyLabel(group.data.policy)})</span>
    </>
  );
}
