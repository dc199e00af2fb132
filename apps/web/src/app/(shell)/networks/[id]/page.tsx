import type { Metadata } from 'next';
import { GROUP_NAMES_INPUT } from '@/components/networking/inputs';
import { NetworkDetail } from '@/components/networking/network-detail';
import { getQueryClient, HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

type Props = { params: Promise<{ id: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  const trpc = await serverTRPC();
  const network = await getQueryClient()
    .fetchQuery(trpc.networks.get.queryOptions({ id }))
    .catch(() => null);
  return { title: network ? `Network ${network.name}` : 'Network' };
}

/** One network, read here and handed to the browser, where networks.watch keeps it live. */
export default async function NetworkPage({ params }: Props) {
  const { id } = await params;
  const trpc = await serverTRPC();
  await Promise.all([prefetch(trpc.networks.get.queryOptions({ id })), prefetch(trpc.ports.list.queryOptions({ networkId: id })), prefetch(trpc.securityGroups.list.queryOptions(GROUP_NAMES_INPUT))]);
  return (
    <HydrateClient>
      <NetworkDetail key={id} id={id} />
    </HydrateClient>
  );
}
