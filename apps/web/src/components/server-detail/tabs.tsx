'use client';

import { type KeyboardEvent, type ReactNode, useId } from 'react';
import styles from './server-detail.module.css';
import { TAB_LABELS, TABS, type Tab } from './types';

/** The page's tabs (WAI-ARIA tabs: arrows move between them); only the open panel is drawn. */
export function Tabs({ current, onChange, children }: { current: Tab; onChange: (tab: Tab) => void; children: ReactNode }) {
  const base = useId();
  const tabId = (t: Tab) => `${base}-tab-${t}`;
  const onKeyDown = (e: KeyboardEvent) => {
    const at = TABS.indexOf(current);
    const to = e.key === 'ArrowRight' ? at + 1 : e.key === 'ArrowLeft' ? at - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? TABS.length - 1 : null;
    if (to === null) return;
    e.preventDefault();
    const next = TABS[(to + TABS.length) % TABS.length]!;
    onChange(next);
    document.getElementById(tabId(next))?.focus();
  };
  return (
    <>
      <div role="tablist" aria-label="Server details" className={styles.tablist}>
        {TABS.map((t) => (
          <button
            key={t}
            id={tabId(t)}
            type="button"
            role="tab"
            aria-selected={t === current}
            aria-controls={`${base}-panel`}
            tabIndex={t === current ? 0 : -1}
            className={styles.tab}
            onClick={() => onChange(t)}
            onKeyDown={onKeyDown}
          >
            {TAB_LABELS[t]}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${base}-panel`} aria-labelledby={tabId(current)} className={styles.panel}>
        {children}
      </div>
    </>
  );
}
