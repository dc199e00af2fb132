import { Meter } from '@/components/ui/meter';
import ui from '@/components/ui/ui.module.css';
import styles from './admin.module.css';
import type { Hypervisor } from './types';

type Resource = Hypervisor['vcpus'];

const number = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 1 });

/** Used of what the scheduler may place: (total − reserved) × allocation ratio. */
export function UsageBar({ label, unit, resource }: { label: string; unit: string; resource: Resource }) {
  const capacity = Math.floor((resource.total - resource.reserved) * resource.allocationRatio);
  const percent = capacity > 0 ? Math.min(100, Math.round((resource.used / capacity) * 100)) : 100;
  const text = `${number.format(resource.used)} of ${number.format(capacity)} ${unit} used`;
  const detail =
    `${number.format(resource.total)} ${unit} × ratio ${number.format(resource.allocationRatio)}` +
    (resource.reserved ? `, ${number.format(resource.reserved)} reserved` : '');
  return (
    <div className={styles.usage}>
      <div className={styles.usageLabel}>
        <span>
          <strong>{label}</strong> {text}
        </span>
        <span className={ui.muted}>{detail}</span>
      </div>
      <Meter label={`${label} usage`} max={capacity} now={Math.min(resource.used, capacity)} text={`${text} (${percent}%)`} percent={percent} full={percent >= 90} />
    </div>
  );
}
