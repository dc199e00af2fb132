'use client';

import { useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { useServerWatch } from '@/lib/server-watch';
import { useTRPC } from '@/lib/trpc';
import { ServerNetworking } from '@/components/networking/server-networking';
import { TestConnectivity } from '@/components/networking/test-connectivity';
import { canAct, useWhoami } from '@/lib/whoami';
import { Breadcrumb } from '@/components/ui/breadcrumb';
import { ErrorAlert } from '@/components/ui/query-state';
import ui from '@/components/ui/ui.module.css';
import { CONFIRM, ConfirmDialog, CreateImageDialog, LockDialog, RebuildDialog, ResizeDialog } from './action-dialogs';
import { type ActionKind, type Actor, whyDisabled } from './action-kinds';
import { ActionLog } from './action-log';
import { ActionsMenu } from './actions-menu';
import { ConsoleTab } from './console-tab';
import { LogTab } from './log-tab';
import { Overview } from './overview';
import { ResizeBanner } from './resize-banner';
import styles from './server-detail.module.css';
import { ShortcutList, useShortcuts } from './shortcuts';
import { StatusBadge } from './status-badge';
import { Tabs } from './tabs';
import { newer, type Server, type Tab } from './types';
import { useServerActions } from './use-server-actions';

/**
 * The server as the page drew it (read on the server and handed over), kept current by servers.watch. A read
 * that comes back after a newer change (the watch can overtake it) does not take the page back.
 */
function useLiveServer(id: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const key = trpc.servers.get.queryKey({ id });
  const query = useSuspenseQuery({
    ...trpc.servers.get.queryOptions({ id }),
    structuralSharing: (old, fresh) => newer(old as Server | undefined, fresh as Server),
  });
  const watch = useServerWatch({
    onData: (server) => {
      if (server.id === id) queryClient.setQueryData<Server>(key, (old) => newer(old, server));
    },
    // What changed between the page's read and the watch's start is read once more.
    onStarted: () => void queryClient.invalidateQueries({ queryKey: key }),
  });
  return { server: query.data, error: query.error, watchError: watch.error };
}

export function ServerDetail({ id }: { id: string }) {
  const { server, error, watchError } = useLiveServer(id);
  const whoami = useWhoami();
  const toast = useToast();
  const [tab, setTab] = useState<Tab>('overview');
  const [dialog, setDialog] = useState<ActionKind | null>(null);
  const { run } = useServerActions(server);
  const actor: Actor = { canAct: canAct(whoami), isAdmin: whoami.isAdmin, role: whoami.roles[0] ?? 'reader' };

  const pick = (kind: ActionKind) => {
    if (CONFIRM[kind] || kind === 'resize' || kind === 'rebuild' || kind === 'createImage' || kind === 'lock') setDialog(kind);
    else void run(kind);
  };

  useShortcuts((key) => {
    if (key === 'r') {
      const why = whyDisabled('rebootSoft', server, actor);
      if (why) toast.show('error', why);
      else void run('rebootSoft');
    } else setTab(key === 'c' ? 'console' : key === 'l' ? 'log' : key === 'a' ? 'actions' : 'overview');
  });

  const dialogProps = { server, run, onClose: () => setDialog(null) };
  return (
    <main className={`${ui.content} ${styles.page}`}>
      <Breadcrumb trail={[{ label: 'Instances', href: '/servers' }, { label: server.name }]} />
      <div className={styles.header}>
        <h1 className={styles.title}>
          {server.name} <StatusBadge server={server} />
        </h1>
        <ActionsMenu server={server} actor={actor} onPick={pick} />
      </div>
      <ErrorAlert error={error} />
      {watchError ? (
        <p role="alert" className={ui.alert}>
          Live updates stopped: {describeApiError(watchError)} Reload the page to see the latest state.
        </p>
      ) : null}
      {server.status === 'DELETED' ? (
        <p role="alert" className={ui.alert}>
          {server.name} has been deleted. <Link href="/servers">Back to the instances</Link>
        </p>
      ) : null}
      <ResizeBanner server={server} actor={actor} run={run} />
      <Tabs current={tab} onChange={setTab}>
        {tab === 'overview' ? (
          <>
            <Overview server={server} />
            {server.status === 'DELETED' ? null : (
              <>
                <ServerNetworking server={server} />
                <TestConnectivity server={server} />
              </>
            )}
          </>
        ) : null}
        {tab === 'console' ? <ConsoleTab server={server} /> : null}
        {tab === 'log' ? <LogTab id={server.id} /> : null}
        {tab === 'actions' ? <ActionLog id={server.id} /> : null}
      </Tabs>
      <ShortcutList />
      {dialog === 'resize' ? <ResizeDialog {...dialogProps} /> : null}
      {dialog === 'rebuild' ? <RebuildDialog {...dialogProps} /> : null}
      {dialog === 'createImage' ? <CreateImageDialog {...dialogProps} /> : null}
      {dialog === 'lock' ? <LockDialog {...dialogProps} /> : null}
      {dialog && CONFIRM[dialog] ? <ConfirmDialog {...dialogProps} kind={dialog} /> : null}
    </main>
  );
}
