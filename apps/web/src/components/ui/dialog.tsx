'use client';

import { type ReactNode, useEffect, useId, useRef } from 'react';
import styles from './ui.module.css';

/**
 * A modal dialog (the browser's <dialog>: focus moves inside and stays there, Escape closes it), named by its
 * title. Its content is mounted only while it is open, so forms start empty; `onClose` hears every way of
 * closing, Escape included. Callers that mount it only while needed leave `open` at its default. However long
 * its content, it fits the screen: the content scrolls under the title, and a form's buttons stay in sight.
 */
export function Dialog({
  open = true,
  title,
  onClose,
  locked = false,
  children,
}: {
  open?: boolean;
  title: string;
  onClose: () => void;
  /** While true, Escape does not close it (e.g. mid-upload: cancel first). */
  locked?: boolean;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  // Focus goes back to what opened the dialog when it closes (or is unmounted, which the browser does not
  // handle), unless something else has taken it by then. Declared before the effect that opens the dialog.
  useEffect(() => {
    if (!open) return;
    const dialog = ref.current;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    return () => {
      const now = document.activeElement;
      if (opener?.isConnected && (!now || now === document.body || dialog?.contains(now))) opener.focus();
    };
  }, [open]);
  // No close in a cleanup: under StrictMode's rerun it would fire onClose on a dialog that should stay open.
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
      className={`${styles.card} ${styles.dialog}`}
      onClose={onClose}
      onCancel={(event) => {
        if (locked) event.preventDefault();
      }}
    >
      {open ? (
        <>
          <h2 id={titleId} className={styles.dialogTitle}>
            {title}
          </h2>
          <div className={styles.dialogScroll}>{children}</div>
        </>
      ) : null}
    </dialog>
  );
}
