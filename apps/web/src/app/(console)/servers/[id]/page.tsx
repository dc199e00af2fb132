import { errorCode } from '@aster/client';
import type { Metadata } from 'next';
import Link from 'next/link';
import { ServerDetail } from '@/components/server-detail/server-detail';
import { describeApiError } from '@/lib/api-error';
import { apiClient, requireSession } from '@/lib/session';
import ui from '@/components/ui/ui.module.css';
import { openConsole, readConsoleLog } from './console/actions';

export const metadata: Metadata = { title: 'Server' };

type Props = { params: Promise<{ id: string }> };

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

/** One server: drawn from servers.get, then kept live in the browser by servers.watch. */
export default async function ServerPage({ params }: Props) {
  const { id } = await params;
  const session = await requireSession(`/servers/${encodeURIComponent(id)}`);
  if (session.status === 'unavailable') return <Failure message={session.message} />;
  try {
    const server = await apiClient(session.token).servers.get.query({ id });
    return (
      <ServerDetail
        key={server.id}
        initial={server}
        consoleActions={{ openVnc: openConsole.bind(null, server.id, 'novnc'), readLog: readConsoleLog.bind(null, server.id) }}
      />
    );
  } catch (error) {
    return <Failure message={errorCode(error) === 'NOT_FOUND' ? `There is no server ${id} in your project.` : describeApiError(error)} />;
  }
}
