'use client';

import { useWhoami } from '@/lib/whoami';
import ui from '@/components/ui/ui.module.css';
import { whyReadOnly } from './gate';
import styles from './instances.module.css';
import type { RowAction } from './types';

const bulk: { action: RowAction; label: string }[] = [
  { action: 'start', label: 'Start selected' },
  { action: 'stop', label: 'Stop selected' },
  { action: 'delete', label: 'Delete selected' },
];

/** Actions on every selected server; each server's result is toasted on its own. */
export function BulkBar({ count, onAction }: { count: number; onAction: (action: RowAction) => void }) {
  const readOnly = whyReadOnly(useWhoami());
  const why = readOnly ?? (count === 0 ? 'Select servers first' : null);
  return (
    <div className={styles.bulk} aria-label="Selected servers" role="group">
      <span className={ui.muted} aria-live="polite">
        {count} selected
      </span>
      {bulk.map(({ action, label }) => (
        <button key={action} type="button" className={ui.secondary} disabled={why !== null} title={why ?? label} onClick={() => onAction(action)}>
          {label}
        </button>
      ))}
    </div>
  );
}
