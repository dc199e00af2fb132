'use client';

import type RFB from '@novnc/novnc';
import { useEffect, useEffectEvent, useRef } from 'react';
import { describeClose } from './close-reasons';
import { keysymOf, paced, strokesFor } from './keys';
import type { ConnectionStatus, ConsoleClientProps, ConsoleControls, Scaling } from './types';
import { useLatest } from './use-latest';
import styles from './console.module.css';

function applyScaling(rfb: RFB, scaling: Scaling): void {
  rfb.scaleViewport = scaling === 'fit';
  rfb.resizeSession = scaling === 'remote';
}

function vncControls(rfb: RFB): ConsoleControls {
  const press = (code: string, down: boolean) => rfb.sendKey(keysymOf(code), code, down);
  return {
    keyboard: true,
    sendCombo(keys) {
      if (keys.join('+') === 'ControlLeft+AltLeft+Delete') rfb.sendCtrlAltDel();
      else {
        for (const key of keys) press(key, true);
        for (const key of [...keys].reverse()) press(key, false);
      }
      rfb.focus({ preventScroll: true });
    },
    holdKey: (key, down) => press(key, down),
    async typeText(text) {
      await paced(strokesFor(text).strokes, (s) => {
        if (s.shift) press('ShiftLeft', true);
        rfb.sendKey(s.keysym, s.code, true);
        rfb.sendKey(s.keysym, s.code, false);
        if (s.shift) press('ShiftLeft', false);
      });
      rfb.focus({ preventScroll: true });
    },
  };
}

/**
 * noVNC, wrapped thinly: one effect loads it (it needs `window`), connects and cleans up. The page opens the
 * WebSocket itself and hands it to RFB, because noVNC's disconnect event drops the proxy's close reason.
 */
export function VncConsole({ connection, onStatus, onControls, scaling }: ConsoleClientProps) {
  const screen = useRef<HTMLDivElement>(null);
  const rfbRef = useRef<RFB | null>(null);
  const scalingRef = useLatest(scaling);
  // The latest callbacks, called from the long-lived effect without restarting it.
  const reportStatus = useEffectEvent((next: ConnectionStatus) => onStatus(next));
  const reportControls = useEffectEvent((next: ConsoleControls | null) => onControls(next));

  useEffect(() => {
    const target = screen.current;
    if (!target) return;
    let disposed = false;
    let rfb: RFB | null = null;
    let refused: string | undefined;
    let closed = false;
    const report = (s: ConnectionStatus) => {
      if (!disposed) reportStatus(s);
    };

    import('@novnc/novnc').then(
      ({ default: RFBClass }) => {
        if (disposed) return;
        const socket = new WebSocket(connection.websocketUrl, ['binary']);
        socket.binaryType = 'arraybuffer';
        // Added before noVNC sets its own handler, so this runs first and sees the proxy's code and reason.
        socket.addEventListener('close', (event) => {
          closed = true;
          if (disposed) return;
          reportControls(null);
          report({ state: 'disconnected', reason: refused ?? describeClose(event.code, event.reason) });
        });
        const client = new RFBClass(target, socket, { wsProtocols: ['binary'] });
        rfb = client;
        rfbRef.current = client;
        applyScaling(client, scalingRef.current);
        client.addEventListener('connect', () => {
          report({ state: 'connected' });
          reportControls(vncControls(client));
        });
        client.addEventListener('securityfailure', (event) => {
          refused = `the VNC server refused the session${event.detail.reason ? `: ${event.detail.reason}` : ''}`;
        });
        client.addEventListener('credentialsrequired', () => {
          refused = 'the VNC server asks for a password, which the console does not have';
          client.disconnect();
        });
      },
      () => report({ state: 'disconnected', reason: 'the VNC client could not be loaded; reload the page' }),
    );

    return () => {
      disposed = true;
      reportControls(null);
      rfbRef.current = null;
      // A closed session has already disconnected; noVNC complains when told again.
      if (!closed) rfb?.disconnect();
    };
  }, [connection.websocketUrl, scalingRef]);

  useEffect(() => {
    if (rfbRef.current) applyScaling(rfbRef.current, scaling);
  }, [scaling]);

  return <div ref={screen} className={styles.screen} role="region" aria-label="VNC screen" />;
}
