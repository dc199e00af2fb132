'use client';

import { useCallback, useEffect, useEffectEvent, useRef, useState } from 'react';
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
  const openConsole = useEffectEvent(() => open());
  const attemptRef = useRef(attempt);

  useEffect(() => {
    let current = true;
    attemptRef.current = attempt;
    openConsole().then(
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

  // Each attempt starts from nothing: no connection, connecting.
  const reconnect = useCallback(() => {
    setSession(null);
    setStatus({ state: 'connecting' });
    setAttempt((n) => n + 1);
  }, []);
  // A client reports for its own connection only: a late close of the previous one must not win.
  const reportFor = useCallback(
    (forAttempt: number) => (next: ConnectionStatus) => {
      if (attemptRef.current === forAttempt) setStatus(next);
    },
    [],
  );
  return { session, status, reconnect, reportFor };
}
