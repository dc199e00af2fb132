import styles from '../resources.module.css';
import type { Limits } from '../types';

const resources = [
  { key: 'instances', label: 'Instances', unit: '' },
  { key: 'cores', label: 'Cores (vCPUs)', unit: '' },
  { key: 'ramMb', label: 'RAM', unit: ' MB' },
  { key: 'keypairs', label: 'Key pairs (yours)', unit: '' },
] as const;

/** Used against limit for each resource, with the numbers spelled out ("3 of 10"). */
export function UsageBars({ limits }: { limits: Limits }) {
  return (
    <div className={styles.bars}>
      {resources.map(({ key, label, unit }) => {
        const used = limits.usage[key];
        const limit = limits.limits[key];
        const unlimited = limit < 0;
        const percent = unlimited ? 0 : limit === 0 ? (used > 0 ? 100 : 0) : Math.min(100, Math.round((used / limit) * 100));
        const text = unlimited ? `${used}${unit} of unlimited` : `${used}${unit} of ${limit}${unit}`;
        const over = !unlimited && used >= limit;
        return (
          <div key={key} className={styles.bar}>
            <div className={styles.barHead}>
              <span>{label}</span>
              <span>{text}</span>
            </div>
            <div
              className={styles.progress}
              role="meter"
              aria-label={label}
              aria-valuemin={0}
              aria-valuemax={unlimited ? Math.max(used, 1) : limit}
              aria-valuenow={unlimited ? used : Math.min(used, limit)}
              aria-valuetext={text}
            >
              <div className={`${styles.progressFill} ${over ? styles.over : ''}`} style={{ width: `${percent}%` }} />
            </div>
          </div>
        );
      })}
    </div>
  );
}
