import type { ReactNode } from 'react';
import styles from './ui.module.css';

/** A labelled form field with an optional hint and inline problem, tied to the control by aria-describedby. */
export function Field({ id, label, problem, hint, children }: { id: string; label: string; problem?: string | null | undefined; hint?: ReactNode; children: ReactNode }) {
  return (
    <div className={styles.field}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint ? <span className={styles.muted}>{hint}</span> : null}
      {problem ? (
        <span id={`${id}-problem`} className={styles.problem}>
          {problem}
        </span>
      ) : null}
    </div>
  );
}

export const describedBy = (id: string, problem: string | null | undefined) => (problem ? `${id}-problem` : undefined);

/** A dialog form's buttons: submit (busy while its request runs) and, when it can be left, Cancel. */
export function FormButtons({ label, pending, disabled = false, onCancel }: { label: string; pending: boolean; disabled?: boolean; onCancel?: () => void }) {
  return (
    <div className={styles.buttons}>
      <button type="submit" disabled={pending || disabled} aria-busy={pending}>
        {label}
      </button>
      {onCancel ? (
        <button type="button" className={styles.secondary} onClick={onCancel}>
          Cancel
        </button>
      ) : null}
    </div>
  );
}
