import { Meter } from '@/components/ui/meter';
import styles from '../resources.module.css';
import type { Limits } from '../types';

const resources = [
  { key: 'instances', label: 'Instances', unit: '' },
  { key: 'cores', label: 'Cores (vCPUs)', unit: '' },
  { key: 'ramMb', label: 'RAM', unit: ' MiB' },
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
            <Meter
              label={label}
              max={unlimited ? Math.max(used, 1) : limit}
              now={unlimited ? used : Math.min(used, limit)}
              text={text}
              percent={percent}
              full={over}
            />
          </div>
        );
      })}
    </div>
  );
}
