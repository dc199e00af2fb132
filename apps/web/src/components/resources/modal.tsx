'use client';

import { useEffect, useId, useRef, type ReactNode } from 'react';
import styles from './resources.module.css';

/**
 * A modal dialog (the browser's <dialog>, so focus is trapped and Escape closes it), named by its title.
 * `open` drives it; `onClose` hears every way of closing, Escape included.
 */
export function Modal({
  open,
  title,
  onClose,
  locked = false,
  children,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  /** While true, Escape does not close it (e.g. mid-upload: cancel first). */
  locked?: boolean;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      className={`card ${styles.dialog}`}
      onClose={onClose}
      onCancel={(event) => {
        if (locked) event.preventDefault();
      }}
    >
      {open ? (
        <>
          <h2 id={titleId}>{title}</h2>
          {children}
        </>
      ) : null}
    </dialog>
  );
}
