'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import type { ConnectionStatus, ConsoleConnection, OpenConsoleResult } from './types';

export type Session = ConsoleConnection & { attempt: number };

/**
 * Asks for a console token and keeps the connection's status. `reconnect` asks for a fresh token (the old
 * one may have expired or been revoked) and hands the client a new connection, which remounts it.
 */
export function useConsoleSession(open: () => Promise<OpenConsoleResult>) {
  const [attempt, setAttempt] = useState(0);
  const [session, setSession] = useState<Session | null>(null);
  const [status, setStatus] = useState<ConnectionStatus>({ state: 'connecting' });
  // A refreshed page hands over a new `open` function; only a reconnect asks for a new token.
  const openRef = useRef(open);
  const attemptRef = useRef(attempt);
  useEffect(() => {
    openRef.current = open;
  }, [open]);

  useEffect(() => {
    let current = true;
    attemptRef.current = attempt;
    setSession(null);
    setStatus({ state: 'connecting' });
    openRef.current().then(
      (result) => {
        if (!current) return;
        if (result.ok) setSession({ ...result, attempt });
        else setStatus({ state: 'disconnected', reason: result.message });
      },
      () => {
        if (current) setStatus({ state: 'disconnected', reason: 'The Aster web app could not be reached. Try again in a moment.' });
      },
    );
    return () => {
      current = false;
    };
  }, [attempt]);

  const reconnect = useCallback(() => setAttempt((n) => n + 1), []);
  // A client reports for its own connection only: a late close of the previous one must not win.
  const reportFor = useCallback(
    (forAttempt: number) => (next: ConnectionStatus) => {
      if (attemptRef.current === forAttempt) setStatus(next);
    },
    [],
  );
  return { session, status, reconnect, reportFor };
}
