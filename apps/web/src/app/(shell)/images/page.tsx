import type { Metadata } from 'next';
import { ImagesView } from '@/components/resources/images/images-view';
import ui from '@/components/ui/ui.module.css';
import { HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Images' };

export default async function ImagesPage() {
  const trpc = await serverTRPC();
  await prefetch(trpc.images.list.queryOptions({}));
  return (
    <main className={ui.content}>
      <h1>Images</h1>
      <HydrateClient>
        <ImagesView />
      </HydrateClient>
    </main>
  );
}
