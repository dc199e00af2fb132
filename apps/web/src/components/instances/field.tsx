import type { ReactNode } from 'react';
import styles from './instances.module.css';

/** A labelled form field with its inline problem, tied to the control by aria-describedby. */
export function Field({ id, label, problem, hint, children }: { id: string; label: string; problem?: string | null | undefined; hint?: ReactNode; children: ReactNode }) {
  return (
    <div className={styles.field}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint ? <span className="muted">{hint}</span> : null}
      {problem ? (
        <span id={`${id}-problem`} className={styles.problem}>
          {problem}
        </span>
      ) : null}
    </div>
  );
}

export const describedBy = (id: string, problem: string | null | undefined) => (problem ? `${id}-problem` : undefined);
