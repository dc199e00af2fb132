import type { Metadata } from 'next';
import ui from '@/components/ui/ui.module.css';
import { Credentials } from './credentials';
import { HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

export const metadata: Metadata = { title: 'Application credentials' };

export default async function CredentialsPage() {
  const trpc = await serverTRPC();
  await prefetch(trpc.credentials.list.queryOptions());
  return (
    <main className={ui.content}>
      <h1>Application credentials</h1>
      <p className={ui.muted}>
        For scripts: a credential signs in as you, on your current project, with one role at most as high as yours. Revoking
        it signs out every token it issued.
      </p>
      <HydrateClient>
        <Credentials />
      </HydrateClient>
    </main>
  );
}
