'use client';

import { useWhoami } from '@/lib/whoami';
import ui from '@/components/ui/ui.module.css';
import { whyNotAction } from './gate';
import styles from './instances.module.css';
import type { RowAction, Server } from './types';

const labels: Record<RowAction, string> = { start: 'Start', stop: 'Stop', reboot: 'Reboot', delete: 'Delete' };

/** Start, Stop, Reboot and Delete for one server; each disabled, with the reason as its tooltip, when it cannot run. */
export function RowActions({ server, onAction }: { server: Server; onAction: (action: RowAction, server: Server) => void }) {
  const whoami = useWhoami();
  return (
    <div className={styles.rowActions}>
      {(Object.keys(labels) as RowAction[]).map((action) => {
        const why = whyNotAction(action, server, whoami);
        return (
          <button
            key={action}
            type="button"
            className={action === 'delete' ? `${ui.secondary} ${styles.dangerText}` : ui.secondary}
            aria-label={`${labels[action]} ${server.name}`}
            title={why ?? `${labels[action]} ${server.name}`}
            disabled={why !== null}
            onClick={() => onAction(action, server)}
          >
            {labels[action]}
          </button>
        );
      })}
    </div>
  );
}
