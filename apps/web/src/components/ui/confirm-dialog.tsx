'use client';

import { type ReactNode, useEffect, useRef, useState } from 'react';
import { describeApiError } from '@/lib/api-error';
import { Dialog } from './dialog';
import styles from './ui.module.css';

/**
 * Asks before a destructive action; the action's button says what it does, and Cancel has the focus.
 * When `onConfirm` returns a promise the dialog waits for it: it closes on success and keeps the failure's
 * reason inside (the caller may toast it too), so the reason is seen where the question was asked.
 * Otherwise the caller closes it (e.g. in its mutation's onSuccess) and passes `pending` meanwhile.
 */
export function ConfirmDialog({
  open = true,
  title,
  confirmLabel,
  pending = false,
  onConfirm,
  onClose,
  children,
}: {
  open?: boolean;
  title: string;
  confirmLabel: string;
  pending?: boolean;
  onConfirm: () => unknown;
  onClose: () => void;
  children: ReactNode;
}) {
  const cancel = useRef<HTMLButtonElement>(null);
  // Runs after the dialog's own effect has shown it, so this wins over the browser's first-button focus.
  useEffect(() => {
    if (open) cancel.current?.focus();
  }, [open]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const close = () => {
    setError(null);
    onClose();
  };
  const confirm = async () => {
    const result = onConfirm();
    if (!(result instanceof Promise)) return;
    setBusy(true);
    setError(null);
    try {
      await result;
      close();
    } catch (e) {
      setError(describeApiError(e));
    } finally {
      setBusy(false);
    }
  };
  const working = pending || busy;
  return (
    <Dialog open={open} title={title} onClose={close}>
      <div className={styles.dialogBody}>{children}</div>
      {error ? (
        <p role="alert" className={`${styles.alert} ${styles.dialogBody}`}>
          {error}
        </p>
      ) : null}
      <div className={styles.buttons}>
        <button type="button" className={styles.danger} disabled={working} aria-busy={working} onClick={() => void confirm()}>
          {confirmLabel}
        </button>
        <button type="button" ref={cancel} className={styles.secondary} onClick={close}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
