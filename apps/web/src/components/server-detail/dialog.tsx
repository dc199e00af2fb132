'use client';

import { type FormEvent, type ReactNode, useState } from 'react';
import { Dialog } from '@/components/ui/dialog';
import ui from '@/components/ui/ui.module.css';

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

/** A modal dialog that confirms one action (with its options as form fields); the parent mounts it while needed. */
export function ActionDialog({ title, confirmLabel, danger, onClose, onConfirm, children, confirmDisabled }: DialogProps) {
  const [working, setWorking] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setWorking(true);
    const close = await onConfirm();
    setWorking(false);
    if (close) onClose();
  };

  return (
    <Dialog title={title} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)}>
        {children}
        <div className={ui.buttons}>
          <button type="button" className={ui.secondary} onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className={danger ? ui.danger : undefined} disabled={working || confirmDisabled} aria-busy={working}>
            {confirmLabel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
