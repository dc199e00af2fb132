import styles from './ui.module.css';

/**
 * A bar that shows how far along or how full something is. Its numbers are in its value text, so a screen
 * reader (and a test) reads "3 of 10", not a bare percentage.
 */
export function Meter({
  role = 'meter',
  label,
  max,
  now,
  text,
  percent,
  full = false,
}: {
  role?: 'meter' | 'progressbar';
  label: string;
  max: number;
  now: number;
  text: string;
  percent: number;
  /** Drawn in the danger colour: at or over its limit. */
  full?: boolean;
}) {
  return (
    <div className={styles.meter} role={role} aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={now} aria-valuetext={text}>
      <div className={full ? `${styles.meterFill} ${styles.meterFull}` : styles.meterFill} style={{ width: `${percent}%` }} />
    </div>
  );
}
