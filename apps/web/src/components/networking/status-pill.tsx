import styles from './networking.module.css';

/** A port's or floating IP's status: ACTIVE in green, the rest quiet. */
export function StatusPill({ status }: { status: string }) {
  return <span className={`${styles.pill} ${status === 'ACTIVE' ? styles.up : styles.down}`}>{status}</span>;
}
