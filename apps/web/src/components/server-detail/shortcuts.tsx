'use client';

import { useEffect } from 'react';
import { useLatest } from '@/components/console/use-latest';
import ui from '@/components/ui/ui.module.css';
import styles from './server-detail.module.css';

export const SHORTCUTS = [
  { key: 'r', what: 'Reboot the server (soft)' },
  { key: 'o', what: 'Open the Overview tab' },
  { key: 'c', what: 'Open the Console tab' },
  { key: 'l', what: 'Open the Log tab' },
  { key: 'a', what: 'Open the Action log tab' },
] as const;
export type ShortcutKey = (typeof SHORTCUTS)[number]['key'];

/** True when a key press belongs to something else: a field, a dialog, a menu, or the guest's own screen. */
function elsewhere(e: KeyboardEvent): boolean {
  if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return true;
  const target = e.target instanceof Element ? e.target : null;
  if (!target) return false;
  if (target.closest('input, textarea, select, [contenteditable], dialog, [role=menu], [data-console-frame]')) return true;
  return false;
}

/** Single-key shortcuts of the page, off while typing anywhere. */
export function useShortcuts(onKey: (key: ShortcutKey) => void) {
  const latest = useLatest(onKey);
  useEffect(() => {
    const listener = (e: KeyboardEvent) => {
      if (elsewhere(e)) return;
      const hit = SHORTCUTS.find((s) => s.key === e.key);
      if (!hit) return;
      e.preventDefault();
      latest.current(hit.key);
    };
    document.addEventListener('keydown', listener);
    return () => document.removeEventListener('keydown', listener);
  }, [latest]);
}

export function ShortcutList() {
  return (
    <details className={styles.shortcuts}>
      <summary>Keyboard shortcuts</summary>
      <dl className={ui.facts}>
        {SHORTCUTS.map((s) => (
          <div key={s.key} className={styles.contents}>
            <dt>
              <kbd>{s.key}</kbd>
            </dt>
            <dd>{s.what}</dd>
          </div>
        ))}
      </dl>
    </details>
  );
}
