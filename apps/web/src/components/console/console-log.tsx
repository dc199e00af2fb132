'use client';

import { useQuery } from '@tanstack/react-query';
import { useId, useLayoutEffect, useRef, useState } from 'react';
import ui from '@/components/ui/ui.module.css';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import styles from './console.module.css';
import { plainText } from './plain-text';

const LINES = 1000;
const FOLLOW_EVERY_MS = 2000;

/**
 * The serial console's output as the host logged it, as plain text (without the guest's terminal escapes), read
 * again every 2 s while "Follow" is on.
 */
export function ConsoleLog({ id }: { id: string }) {
  const trpc = useTRPC();
  const [follow, setFollow] = useState(false);
  // Read whenever shown (the log is the guest's output up to now); a slow host never piles up reads, as the
  // next waits for the one before.
  const log = useQuery({
    ...trpc.servers.consoleLog.queryOptions({ id, lines: LINES }),
    staleTime: 0,
    refetchInterval: follow ? FOLLOW_EVERY_MS : false,
  });
  const output = log.data ? plainText(log.data.output) : null;
  const view = useRef<HTMLPreElement>(null);
  const headingId = useId();

  // The newest output is what matters: show the end when the log first arrives and while following it.
  const shownOnce = useRef(false);
  useLayoutEffect(() => {
    if (!view.current || output === null) return;
    if (follow || !shownOnce.current) view.current.scrollTop = view.current.scrollHeight;
    shownOnce.current = true;
  }, [follow, output]);

  return (
    <section aria-labelledby={headingId} className={styles.log}>
      <div className={styles.logHeader}>
        <h2 id={headingId}>Console log</h2>
        <label className={ui.checkbox}>
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />
          Follow
        </label>
        <button type="button" className={ui.secondary} onClick={() => void log.refetch()} aria-busy={log.isFetching}>
          Refresh
        </button>
      </div>
      {log.error ? (
        <p role="alert" className={ui.alert}>
          {describeApiError(log.error)}
        </p>
      ) : null}
      {/* A region a keyboard can scroll. */}
      <pre ref={view} className={styles.logOutput} role="region" tabIndex={0} aria-label="Console log output">
        {output === null ? (log.isPending ? 'Reading the console log…' : '') : output || '(no output yet)'}
      </pre>
    </section>
  );
}
