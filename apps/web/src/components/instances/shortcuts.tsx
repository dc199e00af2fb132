'use client';

import { useEffect } from 'react';
import styles from './instances.module.css';

const NOT_TYPED = ['checkbox', 'radio', 'button', 'submit', 'reset'];

/** Whether keys pressed now go into a field (a checkbox with the focus takes no letters). */
function typingIn(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target instanceof HTMLInputElement) return !NOT_TYPED.includes(target.type);
  return target.isContentEditable || ['TEXTAREA', 'SELECT'].includes(target.tagName);
}

/** "n" launches, "/" finds: only when no field has the focus and no dialog is open. */
export function useShortcuts(onLaunch: () => void, onFind: () => void) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typingIn(e.target) || document.querySelector('dialog[open]')) return;
      if (e.key === 'n') {
        e.preventDefault();
        onLaunch();
      } else if (e.key === '/') {
        e.preventDefault();
        onFind();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onLaunch, onFind]);
}

export function ShortcutsNote() {
  return (
    <details className={styles.shortcuts}>
      <summary>Keyboard shortcuts</summary>
      <dl>
        <dt>
          <kbd>n</kbd>
        </dt>
        <dd>Launch instance</dd>
        <dt>
          <kbd>/</kbd>
        </dt>
        <dd>Filter by name</dd>
      </dl>
    </details>
  );
}
