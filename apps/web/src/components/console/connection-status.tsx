'use client';

import ui from '@/components/ui/ui.module.css';
import type { ConnectionStatus } from './types';
import styles from './console.module.css';

function statusText(status: ConnectionStatus): string {
  switch (status.state) {
    case 'connecting':
      return 'Connecting…';
    case 'connected':
      return 'Connected';
    case 'disconnected':
      return `Disconnected: ${status.reason}`;
  }
}

/** The status line, and when the connection ended or was refused, why, with a way to try again. */
export function ConnectionStatusLine({ status, onReconnect }: { status: ConnectionStatus; onReconnect: () => void }) {
  return (
    <div className={styles.connection}>
      <p role="status" className={`${styles.status} ${status.state === 'connected' ? styles.connected : status.state === 'disconnected' ? styles.disconnected : ''}`}>
        {statusText(status)}
      </p>
      {status.state === 'disconnected' ? (
        <div role="alert" className={`${ui.alert} ${styles.alert}`}>
          <p>The console is not connected: {status.reason}</p>
          <button type="button" onClick={onReconnect}>
            Reconnect
          </button>
        </div>
      ) : null}
    </div>
  );
}
