import { errorCode } from '@aster/client';
import type { Metadata } from 'next';
import Link from 'next/link';
import { whyNoConsole } from '@/components/console/availability';
import { ConsoleLog } from '@/components/console/console-log';
import { ConsoleView } from '@/components/console/console-view';
import styles from '@/components/console/console.module.css';
import { Breadcrumb } from '@/components/ui/breadcrumb';
import { CONSOLE_LABELS, CONSOLE_TYPES, type ConsoleType, parseConsoleType } from '@/components/console/types';
import { describeApiError } from '@/lib/api-error';
import ui from '@/components/ui/ui.module.css';
import { requireSession } from '@/lib/session';
import { getQueryClient, serverTRPC } from '@/lib/trpc-server';

type Props = {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

/** The server's view, read once per request (the title and the page share it). */
async function readServer(id: string) {
  const trpc = await serverTRPC();
  return getQueryClient().fetchQuery(trpc.servers.get.queryOptions({ id }));
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  const server = await readServer(id).catch(() => null);
  return { title: server ? `Console of ${server.name}` : 'Console' };
}

function consolePath(id: string, type: ConsoleType): string {
  return `/servers/${encodeURIComponent(id)}/console?type=${type}`;
}

function Tabs({ id, current }: { id: string; current: ConsoleType }) {
  return (
    <nav aria-label="Console type" className={styles.tabs}>
      {CONSOLE_TYPES.map((type) => (
        <Link key={type} href={consolePath(id, type)} aria-current={type === current ? 'page' : undefined} prefetch={false}>
          {CONSOLE_LABELS[type]}
        </Link>
      ))}
    </nav>
  );
}

export default async function ConsolePage({ params, searchParams }: Props) {
  const { id } = await params;
  const type = parseConsoleType((await searchParams).type);
  const session = await requireSession(consolePath(id, type));
  const back = (
    <p>
      <Link href="/servers">Back to the instances</Link>
    </p>
  );

  if (session.status === 'unavailable') {
    return (
      <>
        <main className={ui.content}>
          <h1>Console</h1>
          <p role="alert" className={ui.alert}>
            {session.message}
          </p>
          {back}
        </main>
      </>
    );
  }

  const server = await readServer(id).catch((error: unknown) => ({ error }));
  if ('error' in server) {
    const { error } = server;
    const message = errorCode(error) === 'NOT_FOUND' ? `There is no server ${id} in your project.` : describeApiError(error);
    return (
      <>
        <main className={ui.content}>
          <h1>Console</h1>
          <p role="alert" className={ui.alert}>
            {message}
          </p>
          {back}
        </main>
      </>
    );
  }

  const unavailable = whyNoConsole(server);
  return (
    <>
      <main className={`${ui.content} ${styles.page}`}>
        <Breadcrumb trail={[{ label: 'Instances', href: '/servers' }, { label: server.name, href: `/servers/${encodeURIComponent(server.id)}` }, { label: 'Console' }]} />
        <div className={styles.title}>
          <h1>Console of {server.name}</h1>
          <p>
            Status <strong className={styles.serverStatus}>{server.status}</strong>
          </p>
        </div>
        <Tabs id={server.id} current={type} />
        {unavailable ? (
          <>
            <p role="alert" className={ui.alert}>
              {unavailable}
            </p>
            {type === 'serial' ? <ConsoleLog id={server.id} /> : null}
          </>
        ) : (
          <ConsoleView key={type} id={server.id} type={type} />
        )}
      </main>
    </>
  );
}
