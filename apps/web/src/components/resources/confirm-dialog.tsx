'use client';

import { useState, type ReactNode } from 'react';
import { errorText } from './format';
import { Modal } from './modal';
import styles from './resources.module.css';

/**
 * Asks before a destructive action. The action's failure stays in the dialog (and its caller toasts it),
 * so the reason is seen where the question was asked.
 */
export function ConfirmDialog({
  open,
  title,
  confirmLabel,
  onConfirm,
  onClose,
  children,
}: {
  open: boolean;
  title: string;
  confirmLabel: string;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
  children: ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const close = () => {
    setError(null);
    onClose();
  };
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      close();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal open={open} title={title} onClose={close}>
      <div className={styles.form}>
        {children}
        {error ? (
          <p role="alert" className="alert">
            {error}
          </p>
        ) : null}
        <div className="dialog-buttons">
          <button type="button" className={styles.danger} disabled={busy} aria-busy={busy} onClick={confirm}>
            {confirmLabel}
          </button>
          <button type="button" className="secondary" onClick={close}>
            Cancel
          </button>
        </div>
      </div>
    </Modal>
  );
}
