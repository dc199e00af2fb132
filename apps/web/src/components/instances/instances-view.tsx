'use client';

import { useCallback, useDeferredValue, useEffect, useRef, useState } from 'react';
import { type ActionKind, useServerActions } from '@/components/server-actions/tracker';
import { INSTANCES_HEADING, useArrivalFocus } from '@/lib/arrival-focus';
import { useWhoami } from '@/lib/whoami';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { ErrorAlert } from '@/components/ui/query-state';
import ui from '@/components/ui/ui.module.css';
import { BulkBar } from './bulk-bar';
import { whyReadOnly } from './gate';
import styles from './instances.module.css';
import { LaunchDialog } from './launch-dialog';
import { listInput, type Sort } from './list-input';
import { matches } from './merge';
import { ServerTable } from './server-table';
import { ShortcutsNote, useShortcuts } from './shortcuts';
import { Toolbar } from './toolbar';
import type { RowAction, Server } from './types';
import { useLiveServers } from './use-live-servers';
import { useNow } from './use-now';

/** The server action each row action asks for. */
const ACTIONS: Record<RowAction, ActionKind> = { start: 'start', stop: 'stop', reboot: 'rebootSoft', delete: 'delete' };

/** The Instances page: the project's servers, live, with filters, sorting, pages, row and bulk actions, and Launch. */
export function InstancesView() {
  const whoami = useWhoami();
  const readOnly = whyReadOnly(whoami);
  const [name, setName] = useState('');
  const [status, setStatus] = useState('');
  const [allProjects, setAllProjects] = useState(false);
  const [sort, setSort] = useState<Sort>({ key: 'created', dir: 'desc' });
  // The markers of the pages before this one; the last is this page's.
  const [markers, setMarkers] = useState<string[]>([]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [launching, setLaunching] = useState(false);
  const [confirm, setConfirm] = useState<Server[] | null>(null);
  const filterRef = useRef<HTMLInputElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  // Where the focus goes once the page has drawn what changed: a launched server's row (when this page lists
  // it), else the heading. Set when a dialog ends; its own return of the focus to its opener comes first.
  const focusNext = useRef<{ row: string | null } | null>(null);
  const [dialogsEnded, setDialogsEnded] = useState(0);
  const now = useNow();
  useArrivalFocus(INSTANCES_HEADING, heading);

  const deferredName = useDeferredValue(name.trim());
  const marker = markers[markers.length - 1];
  const input = listInput({ sort, allProjects, name: deferredName, status, marker });
  const { list, watchError } = useLiveServers(input);
  const { run } = useServerActions();
  const servers = list.data?.servers ?? [];
  const nextMarker = list.data?.nextMarker;
  const chosen = servers.filter((s) => selected.has(s.id));

  useEffect(() => {
    const want = focusNext.current;
    if (!want) return;
    // A row that this page lists is waited for: the answer is merged into the list a moment after the dialog closes.
    if (want.row && !list.data?.servers.some((s) => s.id === want.row)) return;
    focusNext.current = null;
    const link = want.row ? document.querySelector<HTMLElement>(`tr[data-server-id="${CSS.escape(want.row)}"] th a`) : null;
    (link ?? heading.current)?.focus();
  }, [dialogsEnded, list.data]);
  const focusAfterDialog = (row: string | null) => {
    focusNext.current = { row };
    setDialogsEnded((n) => n + 1);
  };

  const firstPage = () => setMarkers([]);
  const openLaunch = useCallback(() => {
    if (!readOnly) setLaunching(true);
  }, [readOnly]);
  const focusFilter = useCallback(() => filterRef.current?.focus(), []);
  useShortcuts(openLaunch, focusFilter);

  const select = (ids: string[], on: boolean) =>
    setSelected((old) => {
      const next = new Set(old);
      for (const id of ids) {
        if (on) next.add(id);
        else next.delete(id);
      }
      return next;
    });
  const act = (action: RowAction, targets: Server[]) => {
    if (action === 'delete') return setConfirm(targets);
    void run(ACTIONS[action], targets);
  };
  const remove = async (targets: Server[]) => {
    const ok = await run('delete', targets);
    select(
      targets.filter((_, i) => ok[i]).map((s) => s.id),
      false,
    );
  };

  return (
    <main className={`${ui.content} ${styles.page}`}>
      <div className={styles.header}>
        <h1 ref={heading} tabIndex={-1}>
          Instances
        </h1>
        <button type="button" disabled={readOnly !== null} title={readOnly ?? 'Launch instance (n)'} onClick={openLaunch}>
          Launch instance
        </button>
      </div>
      <Toolbar
        filterRef={filterRef}
        name={name}
        status={status}
        allProjects={whoami.isAdmin ? allProjects : null}
        onName={(v) => (setName(v), firstPage())}
        onStatus={(v) => (setStatus(v), firstPage())}
        onAllProjects={(v) => (setAllProjects(v), firstPage())}
      />
      <BulkBar count={chosen.length} onAction={(action) => act(action, chosen)} />
      <ErrorAlert error={list.error} />
      {watchError ? (
        <p role="alert" className={ui.alert}>
          Live updates stopped: {watchError.message}
        </p>
      ) : null}
      <ServerTable
        servers={servers}
        input={input}
        now={now}
        selected={selected}
        onSelect={select}
        onSort={(key) => (setSort((s) => ({ key, dir: s.key === key && s.dir === 'asc' ? 'desc' : s.key === key ? 'asc' : key === 'name' ? 'asc' : 'desc' })), firstPage())}
        onAction={(action, server) => act(action, [server])}
      />
      {list.isPending ? <p className={ui.muted}>Loading servers…</p> : null}
      {list.isSuccess && servers.length === 0 ? <p className={ui.muted}>No servers{deferredName || status ? ' match these filters' : ' yet'}.</p> : null}
      <nav className={styles.pager} aria-label="Pages">
        <button type="button" className={ui.secondary} disabled={markers.length === 0} onClick={() => setMarkers((m) => m.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" className={ui.secondary} disabled={!nextMarker} onClick={() => nextMarker && setMarkers((m) => [...m, nextMarker])}>
          Next page
        </button>
      </nav>
      <ShortcutsNote />
      {launching ? (
        <LaunchDialog
          onClose={() => setLaunching(false)}
          onLaunched={(launched) => {
            // The watch brings the new rows; the focus waits for the first this page lists.
            const shown = launched.find((s) => matches(s, input, whoami.project.id) && !input.marker);
            focusAfterDialog(shown?.id ?? null);
          }}
        />
      ) : null}
      {confirm ? (
        <ConfirmDialog
          title={confirm.length === 1 ? `Delete ${confirm[0]?.name}?` : `Delete ${confirm.length} servers?`}
          confirmLabel="Delete"
          onConfirm={() => {
            setConfirm(null);
            void remove(confirm);
            // The rows go; the list stays.
            focusAfterDialog(null);
          }}
          onClose={() => setConfirm(null)}
        >
          <p>These servers and their disks will be deleted; this cannot be undone:</p>
          <ul>
            {confirm.map((s) => (
              <li key={s.id}>{s.name}</li>
            ))}
          </ul>
        </ConfirmDialog>
      ) : null}
    </main>
  );
}
