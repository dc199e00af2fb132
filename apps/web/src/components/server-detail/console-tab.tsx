'use client';

import Link from 'next/link';
import { whyNoConsole } from '@/components/console/availability';
import { ConsoleView } from '@/components/console/console-view';
import ui from '@/components/ui/ui.module.css';
import styles from './server-detail.module.css';
import type { Server } from './types';

/** The VNC screen in the page, and the console page for SPICE and the serial line. */
export function ConsoleTab({ server }: { server: Server }) {
  const unavailable = whyNoConsole(server);
  const base = `/servers/${encodeURIComponent(server.id)}/console`;
  return (
    <>
      <p className={styles.toolbar}>
        <span>Other consoles:</span>
        <Link href={`${base}?type=spice-html5`}>SPICE console</Link>
        <Link href={`${base}?type=serial`}>Serial console</Link>
        <Link href={`${base}?type=novnc`}>VNC on its own page</Link>
      </p>
      {unavailable ? (
        <p role="alert" className={ui.alert}>
          {unavailable}
        </p>
      ) : (
        <ConsoleView id={server.id} type="novnc" />
      )}
    </>
  );
}
