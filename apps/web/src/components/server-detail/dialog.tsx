'use client';

import { type FormEvent, type ReactNode, useEffect, useId, useRef, useState } from 'react';
import styles from './server-detail.module.css';

export interface DialogProps {
  title: string;
  confirmLabel: string;
  danger?: boolean;
  onClose: () => void;
  /** Answers whether the dialog may close (false keeps it open, e.g. while the toast shows why). */
  onConfirm: () => Promise<boolean>;
  children?: ReactNode;
  confirmDisabled?: boolean;
}

/** A modal dialog (the browser's own: focus stays inside, Escape cancels) that confirms one action. */
export function ActionDialog({ title, confirmLabel, danger, onClose, onConfirm, children, confirmDisabled }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [working, setWorking] = useState(false);

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setWorking(true);
    const close = await onConfirm();
    setWorking(false);
    if (close) onClose();
  };

  return (
    <dialog
      ref={ref}
      className={styles.dialog}
      aria-labelledby={titleId}
      // Escape: the parent unmounts the dialog (a close event would also fire on the effect's own cleanup).
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <form onSubmit={(e) => void submit(e)}>
        <h2 id={titleId}>{title}</h2>
        {children}
        <div className={styles.dialogButtons}>
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className={danger ? styles.danger : undefined} disabled={working || confirmDisabled} aria-busy={working}>
            {confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
