'use client';

import '@xterm/xterm/css/xterm.css';
import { useEffect, useEffectEvent, useRef } from 'react';
import ui from '@/components/ui/ui.module.css';
import { describeClose } from './close-reasons';
import styles from './console.module.css';
import type { ConnectionStatus, ConsoleClientProps, ConsoleControls } from './types';

/** The guest's serial line in xterm.js: bytes both ways over one binary WebSocket. */
export function SerialConsole({ connection, onStatus, onControls }: ConsoleClientProps) {
  const screen = useRef<HTMLDivElement>(null);
  // The latest callbacks, called from the long-lived effect without restarting it.
  const reportStatus = useEffectEvent((next: ConnectionStatus) => onStatus(next));
  const reportControls = useEffectEvent((next: ConsoleControls | null) => onControls(next));

  useEffect(() => {
    const target = screen.current;
    if (!target) return;
    let disposed = false;
    const cleanups: (() => void)[] = [];
    const report = (s: ConnectionStatus) => {
      if (!disposed) reportStatus(s);
    };

    Promise.all([import('@xterm/xterm'), import('@xterm/addon-fit')]).then(
      ([{ Terminal }, { FitAddon }]) => {
        if (disposed) return;
        const term = new Terminal({
          cursorBlink: true,
          scrollback: 5000,
          fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
          fontSize: 14,
        });
        const fit = new FitAddon();
        term.loadAddon(fit);
        term.open(target);
        fit.fit();
        cleanups.push(() => term.dispose());
        const resize = new ResizeObserver(() => fit.fit());
        resize.observe(target);
        cleanups.push(() => resize.disconnect());

        const socket = new WebSocket(connection.websocketUrl, ['binary']);
        socket.binaryType = 'arraybuffer';
        const encoder = new TextEncoder();
        const send = (bytes: Uint8Array) => {
          if (socket.readyState === WebSocket.OPEN) socket.send(bytes);
        };
        const serialControls: ConsoleControls = {
          keyboard: false,
          sendCombo: () => {},
          holdKey: () => {},
          // A serial line takes Enter as a carriage return, as a terminal sends it.
          typeText: async (text) => send(encoder.encode(text.replace(/\r?\n/g, '\r'))),
        };
        socket.addEventListener('open', () => {
          report({ state: 'connected' });
          reportControls(serialControls);
          term.focus();
        });
        socket.addEventListener('message', (event: MessageEvent<ArrayBuffer | string>) => {
          term.write(typeof event.data === 'string' ? event.data : new Uint8Array(event.data));
        });
        socket.addEventListener('close', (event) => {
          reportControls(null);
          report({ state: 'disconnected', reason: describeClose(event.code, event.reason) });
        });
        const typed = term.onData((data) => send(encoder.encode(data)));
        // Bytes above 0x7f from xterm's binary reports (some mouse modes) are sent as they are.
        const binary = term.onBinary((data) => send(Uint8Array.from(data, (ch) => ch.charCodeAt(0) & 0xff)));
        cleanups.push(() => {
          typed.dispose();
          binary.dispose();
          socket.close();
        });
      },
      () => report({ state: 'disconnected', reason: 'the terminal could not be loaded; reload the page' }),
    );

    return () => {
      disposed = true;
      reportControls(null);
      for (const cleanup of cleanups.reverse()) cleanup();
    };
  }, [connection.websocketUrl]);

  return (
    <div className={styles.client}>
      <p className={`${ui.muted} ${styles.hint}`}>
        The terminal shows what the guest writes from now on; press Enter for a prompt. Earlier output is in the console log below.
      </p>
      <div ref={screen} className={`${styles.screen} ${styles.serialScreen}`} role="region" aria-label="Serial terminal" />
    </div>
  );
}
