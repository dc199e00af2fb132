'use client';

import type { ConnectionStatus } from './types';

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
    <div className="console-connection">
      <p role="status" className={`console-status console-status-${status.state}`}>
        {statusText(status)}
      </p>
      {status.state === 'disconnected' ? (
        <div role="alert" className="alert console-alert">
          <p>The console is not connected: {status.reason}</p>
          <button type="button" onClick={onReconnect}>
            Reconnect
          </button>
        </div>
      ) : null}
    </div>
  );
}
