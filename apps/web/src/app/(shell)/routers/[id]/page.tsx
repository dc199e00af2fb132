import type { Metadata } from 'next';
import { RouterDetail } from '@/components/networking/router-detail';
import { getQueryClient, HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

type Props = { params: Promise<{ id: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  const trpc = await serverTRPC();
  const router = await getQueryClient()
    .fetchQuery(trpc.routers.get.queryOptions({ id }))
    .catch(() => null);
  return { title: router ? `Router ${router.name}` : 'Router' };
}

/** One router, read here and handed to the browser, where networks.watch keeps it live. */
export default async function RouterPage({ params }: Props) {
  const { id } = await params;
  const trpc = await serverTRPC();
  await Promise.all([prefetch(trpc.routers.get.queryOptions({ id })), prefetch(trpc.networks.list.queryOptions())]);
  return (
    <HydrateClient>
      <RouterDetail key={id} id={id} />
    </HydrateClient>
  );
}
