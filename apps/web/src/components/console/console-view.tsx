'use client';

import { useRouter } from 'next/navigation';
import { type ComponentType, type RefObject, useEffect, useId, useMemo, useRef, useState } from 'react';
import ui from '@/components/ui/ui.module.css';
import { ConnectionStatusLine } from './connection-status';
import { ConsoleLog } from './console-log';
import { KeysMenu } from './keys-menu';
import { PasteDialog } from './paste-dialog';
import { SerialConsole } from './serial-console';
import { SpiceConsole } from './spice-console';
import {
  CONSOLE_LABELS,
  type ConsoleClientProps,
  type ConsoleControls,
  type ConsoleType,
  SCALING_LABELS,
  type Scaling,
} from './types';
import { useOpenConsole } from './use-open-console';
import { useConsoleSession } from './use-console-session';
import { VncConsole } from './vnc-console';
import styles from './console.module.css';

const clients: Record<ConsoleType, ComponentType<ConsoleClientProps>> = {
  novnc: VncConsole,
  'spice-html5': SpiceConsole,
  serial: SerialConsole,
};

function FullscreenButton({ target }: { target: RefObject<HTMLElement | null> }) {
  const [full, setFull] = useState(false);
  useEffect(() => {
    const changed = () => setFull(document.fullscreenElement === target.current && target.current !== null);
    document.addEventListener('fullscreenchange', changed);
    return () => document.removeEventListener('fullscreenchange', changed);
  }, [target]);
  const toggle = () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void target.current?.requestFullscreen().catch(() => {});
  };
  return (
    <button type="button" className={ui.secondary} aria-pressed={full} onClick={toggle}>
      Fullscreen
    </button>
  );
}

function ScalingSelect({ value, onChange }: { value: Scaling; onChange: (value: Scaling) => void }) {
  const id = useId();
  return (
    <span className={styles.option}>
      <label htmlFor={id}>Scaling</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value as Scaling)}>
        {(Object.keys(SCALING_LABELS) as Scaling[]).map((key) => (
          <option key={key} value={key}>
            {SCALING_LABELS[key]}
          </option>
        ))}
      </select>
    </span>
  );
}

/** One console of server `id`: its client, the connection's status and the tools around it. */
export function ConsoleView({ id, type }: { id: string; type: ConsoleType }) {
  const open = useOpenConsole(id, type);
  const { session, status, reconnect, reportFor } = useConsoleSession(open);
  const [controls, setControls] = useState<ConsoleControls | null>(null);
  const [scaling, setScaling] = useState<Scaling>('fit');
  const frame = useRef<HTMLElement>(null);
  const router = useRouter();
  const onStatus = useMemo(() => reportFor(session?.attempt ?? -1), [reportFor, session?.attempt]);
  const Client = clients[type];
  const connected = status.state === 'connected' && controls !== null;

  const onReconnect = () => {
    setControls(null);
    reconnect();
    // The server may have changed state since the page was drawn (that is often why it closed).
    router.refresh();
  };

  return (
    <>
      <section ref={frame} className={styles.frame} data-console-frame aria-label={`${CONSOLE_LABELS[type]} console`}>
        <div className={styles.toolbar}>
          <ConnectionStatusLine status={status} onReconnect={onReconnect} />
          <div className={styles.tools}>
            {type === 'novnc' ? <ScalingSelect value={scaling} onChange={setScaling} /> : null}
            {type === 'serial' ? null : <KeysMenu controls={controls} disabled={!connected} />}
            <PasteDialog controls={controls} disabled={!connected} />
            <FullscreenButton target={frame} />
          </div>
        </div>
        {session ? <Client key={session.attempt} connection={session} onStatus={onStatus} onControls={setControls} scaling={scaling} /> : null}
      </section>
      {type === 'serial' ? <ConsoleLog id={id} /> : null}
    </>
  );
}
