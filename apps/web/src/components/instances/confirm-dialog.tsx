'use client';

import { useEffect, useId, useRef, type ReactNode } from 'react';
import styles from './instances.module.css';

interface Props {
  title: string;
  confirmLabel: string;
  children: ReactNode;
  onConfirm: () => void;
  onClose: () => void;
}

/** A modal question before something that cannot be undone; Escape or Cancel close it. */
export function ConfirmDialog({ title, confirmLabel, children, onConfirm, onClose }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  // Opened once mounted; unmounting removes it. (Closing it in a cleanup would fire onClose under StrictMode's rerun.)
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
  }, []);

  return (
    <dialog ref={dialog} aria-labelledby={titleId} className={`card ${styles.dialog}`} onClose={onClose}>
      <h2 id={titleId}>{title}</h2>
      <div className={styles.dialogBody}>{children}</div>
      <div className="dialog-buttons">
        <button
          type="button"
          className={styles.danger}
          onClick={() => {
            onConfirm();
            dialog.current?.close();
          }}
        >
          {confirmLabel}
        </button>
        <button type="button" className="secondary" autoFocus onClick={() => dialog.current?.close()}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
