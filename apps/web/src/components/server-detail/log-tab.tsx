'use client';

import { useQuery } from '@tanstack/react-query';
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useTRPC } from '@/lib/trpc';
import { plainText } from '@/components/console/plain-text';
import { ErrorAlert } from '@/components/ui/query-state';
import ui from '@/components/ui/ui.module.css';
import styles from './server-detail.module.css';

const LINES = 200;
const FOLLOW_EVERY_MS = 2000;

/** The last 200 lines of the serial console, read again every 2 s while "Follow" is checked. */
export function LogTab({ id }: { id: string }) {
  const trpc = useTRPC();
  const [follow, setFollow] = useState(false);
  const log = useQuery({ ...trpc.servers.consoleLog.queryOptions({ id, lines: LINES }), staleTime: 0 });
  const { refetch } = log;
  const view = useRef<HTMLPreElement>(null);

  // The one timer of this page: the log has no push feed.
  useEffect(() => {
    if (!follow) return;
    const timer = setInterval(() => void refetch(), FOLLOW_EVERY_MS);
    return () => clearInterval(timer);
  }, [follow, refetch]);

  // What the guest wrote for a terminal (escape sequences, control characters) is not shown as text.
  const output = log.data ? plainText(log.data.output) : undefined;
  useLayoutEffect(() => {
    if (view.current && output !== undefined) view.current.scrollTop = view.current.scrollHeight;
  }, [output]);

  return (
    <>
      <div className={styles.toolbar}>
        <label className={ui.checkbox}>
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />
          Follow
        </label>
        <button type="button" className={ui.secondary} onClick={() => void refetch()} aria-busy={log.isFetching}>
          Refresh
        </button>
        <span className={ui.muted}>Last {LINES} lines</span>
      </div>
      <ErrorAlert error={log.error} />
      <pre ref={view} className={`${styles.pre} ${styles.log}`} role="region" tabIndex={0} aria-label="Console output">
        {output === undefined ? (log.isPending ? 'Reading the console log…' : '') : output || '(no output yet)'}
      </pre>
    </>
  );
}
