'use client';

import { useCallback, useEffect, useId, useLayoutEffect, useRef, useState } from 'react';
import ui from '@/components/ui/ui.module.css';
import type { ConsoleLogResult } from './types';
import styles from './console.module.css';
import { plainText } from './plain-text';

const LINES = 1000;
const FOLLOW_EVERY_MS = 2000;

/**
 * The serial console's output as the host logged it, as plain text (without the guest's terminal escapes), read
 * again every 2 s while "Follow" is on.
 */
export function ConsoleLog({ readLog }: { readLog: (lines: number) => Promise<ConsoleLogResult> }) {
  const [output, setOutput] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [follow, setFollow] = useState(false);
  const [loading, setLoading] = useState(false);
  const view = useRef<HTMLPreElement>(null);
  const headingId = useId();
  const reading = useRef(false);

  const refresh = useCallback(async () => {
    // A slow host must not pile up reads.
    if (reading.current) return;
    reading.current = true;
    setLoading(true);
    try {
      const result = await readLog(LINES);
      if (result.ok) {
        setOutput(plainText(result.output));
        setError(null);
      } else setError(result.message);
    } catch {
      setError('The web console could not be reached. Try again in a moment.');
    } finally {
      reading.current = false;
      setLoading(false);
    }
  }, [readLog]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  useEffect(() => {
    if (!follow) return;
    void refresh();
    const timer = setInterval(() => void refresh(), FOLLOW_EVERY_MS);
    return () => clearInterval(timer);
  }, [follow, refresh]);

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
        <button type="button" className={ui.secondary} onClick={() => void refresh()} aria-busy={loading}>
          Refresh
        </button>
      </div>
      {error ? (
        <p role="alert" className={ui.alert}>
          {error}
        </p>
      ) : null}
      <pre ref={view} className={styles.logOutput} tabIndex={0} aria-label="Console log output">
        {output === null ? 'Reading the console log…' : output || '(no output yet)'}
      </pre>
    </section>
  );
}
