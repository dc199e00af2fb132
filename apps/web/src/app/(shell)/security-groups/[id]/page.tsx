import type { Metadata } from 'next';
import { SecurityGroupDetail } from '@/components/networking/security-group-detail';
import { getQueryClient, HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

type Props = { params: Promise<{ id: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  const trpc = await serverTRPC();
  const group = await getQueryClient()
    .fetchQuery(trpc.securityGroups.get.queryOptions({ id }))
    .catch(() => null);
  return { title: group ? `Security group ${group.name}` : 'Security group' };
}

/** One security group, read here and handed to the browser, where networks.watch keeps it live. */
export default async function SecurityGroupPage({ params }: Props) {
  const { id } = await params;
  const trpc = await serverTRPC();
  await Promise.all([prefetch(trpc.securityGroups.get.queryOptions({ id })), prefetch(trpc.securityGroups.list.queryOptions())]);
  return (
    <HydrateClient>
      <SecurityGroupDetail key={id} id={id} />
    </HydrateClient>
  );
}
