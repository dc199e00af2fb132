'use client';

import { CONSOLE_TOKEN_COOKIE } from '@aster/compute/console';
import { useEffect, useEffectEvent, useId } from 'react';
import { describeClose } from './close-reasons';
import { paced, scancodeOf, strokesFor } from './keys';
import styles from './console.module.css';
import type { ConnectionStatus, ConsoleClientProps, ConsoleControls } from './types';

// Debian's spice-html5, served by this app under /spice-html5/ (see its route). The parts used here:
interface SpiceConnection {
  stop(): void;
  inputs?: { state: string; send_msg(message: unknown): void };
}
interface SpiceOptions {
  uri: string;
  screen_id: string;
  password?: string;
  onerror: (error: unknown) => void;
  onsuccess: () => void;
  onagent?: () => void;
}
interface SpiceModules {
  main: { SpiceMainConn: new (options: SpiceOptions) => SpiceConnection };
  messages: {
    SpiceMiniData: new () => { build_msg(type: number, data: unknown): void };
    SpiceMsgcKeyDown: new () => { code: number };
    SpiceMsgcKeyUp: new () => { code: number };
  };
  enums: { Constants: { SPICE_MSGC_INPUTS_KEY_DOWN: number; SPICE_MSGC_INPUTS_KEY_UP: number } };
}

async function loadSpice(): Promise<SpiceModules> {
  // Plain URLs for the browser to load: the bundler must leave them alone.
  const url = (file: string) => `/spice-html5/${file}`;
  const [main, messages, enums, conn] = await Promise.all([
    import(/* webpackIgnore: true */ /* turbopackIgnore: true */ url('main.js')),
    import(/* webpackIgnore: true */ /* turbopackIgnore: true */ url('spicemsg.js')),
    import(/* webpackIgnore: true */ /* turbopackIgnore: true */ url('enums.js')),
    import(/* webpackIgnore: true */ /* turbopackIgnore: true */ url('spiceconn.js')),
  ]);
  routeChannelErrors((conn as { SpiceConn: { prototype: ChannelPrototype } }).SpiceConn.prototype);
  return { main, messages, enums } as SpiceModules;
}

interface ChannelPrototype {
  report_error(this: { onerror?: (e: unknown) => void; parent?: { onerror?: (e: unknown) => void } }, error: unknown): void;
  asterRouted?: boolean;
}

/**
 * spice-html5 gives only the main channel an error handler: a display or inputs channel that fails throws
 * out of its socket's event handler, unseen by the page. Its errors go to the main channel's handler instead.
 */
function routeChannelErrors(proto: ChannelPrototype): void {
  if (proto.asterRouted) return;
  const original = proto.report_error;
  proto.report_error = function (error) {
    if (this.onerror === undefined && this.parent?.onerror) return this.parent.onerror(error);
    return original.call(this, error);
  };
  proto.asterRouted = true;
}

function setTokenCookie(token: string, expiresAt: string): void {
  const seconds = Math.max(0, Math.round((Date.parse(expiresAt) - Date.now()) / 1000));
  const secure = window.location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `${CONSOLE_TOKEN_COOKIE}=${encodeURIComponent(token)}; path=/; max-age=${seconds}; SameSite=Strict${secure}`;
}

function clearTokenCookie(): void {
  document.cookie = `${CONSOLE_TOKEN_COOKIE}=; path=/; max-age=0; SameSite=Strict`;
}

/**
 * SPICE key events carry XT scancodes, an extended key as 0xE0 then its code, and a release with the top
 * bit set. (spice-html5's own sendCtrlAltDel leaves Ctrl and Alt held until a real key press, so it is not used.)
 */
function spiceControls(sc: SpiceConnection, { messages, enums }: SpiceModules): ConsoleControls {
  const { SPICE_MSGC_INPUTS_KEY_DOWN: DOWN, SPICE_MSGC_INPUTS_KEY_UP: UP } = enums.Constants;
  const press = (code: string, down: boolean) => {
    const scancode = scancodeOf(code);
    if (scancode === undefined || sc.inputs?.state !== 'ready') return;
    const low = (scancode & 0xff) | (down ? 0 : 0x80);
    const key = down ? new messages.SpiceMsgcKeyDown() : new messages.SpiceMsgcKeyUp();
    key.code = scancode > 0xff ? 0xe0 | (low << 8) : low;
    const message = new messages.SpiceMiniData();
    message.build_msg(down ? DOWN : UP, key);
    sc.inputs.send_msg(message);
  };
  return {
    keyboard: true,
    sendCombo(keys) {
      for (const key of keys) press(key, true);
      for (const key of [...keys].reverse()) press(key, false);
    },
    holdKey: (key, down) => press(key, down),
    async typeText(text) {
      // SPICE feeds scancodes straight to the guest's PS/2 keyboard (VNC goes through QEMU's paced key
      // queue): one key at a time, or the guest drops most of them.
      await paced(
        strokesFor(text).strokes,
        (s) => {
          if (!s.code) return; // SPICE has no keysyms: a character off the US layout cannot be typed.
          if (s.shift) press('ShiftLeft', true);
          press(s.code, true);
          press(s.code, false);
          if (s.shift) press('ShiftLeft', false);
        },
        { every: 1, pauseMs: 25 },
      );
    },
  };
}

/** A WebSocket class that hands each socket it opens to `url` to `onChannel` (the others it leaves alone). */
function watchingSockets(Native: typeof WebSocket, url: string, onChannel: (socket: WebSocket) => void): typeof WebSocket {
  return class ChannelSocket extends Native {
    constructor(to: string | URL, protocols?: string | string[]) {
      super(to, protocols);
      if (String(to) === url) onChannel(this);
    }
  };
}

/**
 * spice-html5 opens one WebSocket per SPICE channel, all to the same URL, and reports their closes without
 * the proxy's reason. While this console is mounted, WebSocket is wrapped so the channels to this console's
 * URL are seen; the first to close ends the session with its reason.
 */
export function SpiceConsole({ connection, onStatus, onControls }: ConsoleClientProps) {
  const screenId = `spice-screen-${useId().replace(/[^a-zA-Z0-9_-]/g, '')}`;
  // The latest callbacks, called from the long-lived effect without restarting it.
  const reportStatus = useEffectEvent((next: ConnectionStatus) => onStatus(next));
  const reportControls = useEffectEvent((next: ConsoleControls | null) => onControls(next));

  useEffect(() => {
    let disposed = false;
    let ended = false;
    let sc: SpiceConnection | null = null;
    let link = 0;
    const NativeWebSocket = window.WebSocket;
    // spice-html5 looks its screen up by id as it stops, which throws once React has removed the screen:
    // its channels are closed here either way.
    const channels: WebSocket[] = [];
    const stopQuietly = () => {
      try {
        sc?.stop();
      } catch {
        // Nothing is left to clean up on a removed screen.
      }
      for (const channel of channels) channel.close();
    };
    const end = (reason: string) => {
      if (disposed || ended) return;
      ended = true;
      reportControls(null);
      reportStatus({ state: 'disconnected', reason });
      stopQuietly();
    };

    const ChannelSocket = watchingSockets(NativeWebSocket, connection.websocketUrl, (channel) => {
      channels.push(channel);
      const of = link;
      // Only the present link's channels end the session (a retried one's closes are expected).
      channel.addEventListener('close', (event) => of === link && end(describeClose(event.code, event.reason)));
    });

    setTokenCookie(connection.token, connection.expiresAt);
    // spice-html5's own RSA sometimes makes a ticket the server cannot decrypt, which it answers with
    // "Permission denied" (ticketing is off: any ticket that decrypts is accepted). A new link fixes it.
    let retries = 2;
    const connect = (modules: SpiceModules) => {
      if (disposed) return;
      window.WebSocket = ChannelSocket;
      try {
        const conn = new modules.main.SpiceMainConn({
          uri: connection.websocketUrl,
          screen_id: screenId,
          password: '',
          onsuccess: () => {
            if (disposed || ended) return;
            reportStatus({ state: 'connected' });
            reportControls(spiceControls(conn, modules));
          },
          onerror: (error) => {
            const message = error instanceof Error ? error.message : 'the SPICE connection failed';
            if (message === 'Permission denied.' && retries > 0 && sc === conn) {
              retries--;
              link++;
              stopQuietly();
              channels.length = 0;
              connect(modules);
              return;
            }
            // Its errors come with or just before a channel's close; the close's reason says more, so wait for it.
            setTimeout(() => end(`the SPICE client reports: ${message}`), 100);
          },
        });
        sc = conn;
      } catch (error) {
        end(`the SPICE client could not start: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    loadSpice().then(connect, () => end('the SPICE client could not be loaded: is spice-html5 installed on the web server?'));

    return () => {
      disposed = true;
      reportControls(null);
      stopQuietly();
      if (window.WebSocket === ChannelSocket) window.WebSocket = NativeWebSocket;
      clearTokenCookie();
    };
  }, [connection.websocketUrl, connection.token, connection.expiresAt, screenId]);

  return <div id={screenId} className={styles.screen} role="region" aria-label="SPICE screen" />;
}
