import { errorCode } from '@aster/client';
import type { Metadata } from 'next';
import Link from 'next/link';
import { GROUP_NAMES_INPUT, serverPortsInput } from '@/components/networking/inputs';
import { ServerDetail } from '@/components/server-detail/server-detail';
import ui from '@/components/ui/ui.module.css';
import { describeApiError } from '@/lib/api-error';
import { requireSession } from '@/lib/session';
import { getQueryClient, HydrateClient, prefetch, serverTRPC } from '@/lib/trpc-server';

type Props = { params: Promise<{ id: string }> };

/** The server's view, read once per request (the title and the page share it). */
async function readServer(id: string) {
  const trpc = await serverTRPC();
  return getQueryClient().fetchQuery(trpc.servers.get.queryOptions({ id }));
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  const server = await readServer(id).catch(() => null);
  return { title: server ? server.name : 'Server' };
}

function Failure({ message }: { message: string }) {
  return (
    <main className={ui.content}>
      <h1>Server</h1>
      <p role="alert" className={ui.alert}>
        {message}
      </p>
      <p>
        <Link href="/servers">Back to the instances</Link>
      </p>
    </main>
  );
}

/** One server: read here and handed to the browser, where servers.watch keeps it live. */
export default async function ServerPage({ params }: Props) {
  const { id } = await params;
  const session = await requireSession(`/servers/${encodeURIComponent(id)}`);
  if (session.status === 'unavailable') return <Failure message={session.message} />;
  const failure = await readServer(id).then(
    () => null,
    (error: unknown) => (errorCode(error) === 'NOT_FOUND' ? `There is no server ${id} in your project.` : describeApiError(error)),
  );
  if (failure) return <Failure message={failure} />;
  const trpc = await serverTRPC();
  await Promise.all([prefetch(trpc.ports.list.queryOptions(serverPortsInput(id))), prefetch(trpc.securityGroups.list.queryOptions(GROUP_NAMES_INPUT))]);
  return (
    <HydrateClient>
      <ServerDetail key={id} id={id} />
    </HydrateClient>
  );
}
