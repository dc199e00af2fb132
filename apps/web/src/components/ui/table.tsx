import type { ReactNode } from 'react';
import styles from './ui.module.css';

export type Column = string | { label: string; className?: string | undefined };

/**
 * A list as a table in a frame that scrolls sideways on a phone; `className` adds the page's own layout.
 * `empty` is said in one row when there is nothing to list.
 */
export function Table({
  label,
  columns,
  className,
  empty,
  children,
}: {
  label?: string;
  columns: Column[];
  className?: string | undefined;
  empty?: string | null;
  children: ReactNode;
}) {
  return (
    <div className={styles.tableWrap}>
      <table className={className ? `${styles.table} ${className}` : styles.table} aria-label={label}>
        <thead>
          <tr>
            {columns.map((column) =>
              typeof column === 'string' ? (
                <th key={column} scope="col">
                  {column}
                </th>
              ) : (
                <th key={column.label} scope="col" className={column.className}>
                  {column.label}
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>
          {empty ? (
            <tr>
              <td colSpan={columns.length} className={styles.muted}>
                {empty}
              </td>
            </tr>
          ) : null}
          {children}
        </tbody>
      </table>
    </div>
  );
}

/** The last cell of a row: its buttons, wrapping on a narrow screen. */
export function ActionsCell({ children }: { children: ReactNode }) {
  return (
    <td>
      <div className={styles.actions}>{children}</div>
    </td>
  );
}
