import { Meter } from '@/components/ui/meter';
import ui from '@/components/ui/ui.module.css';
import { formatBytes } from '@/lib/format';
import styles from '../resources.module.css';
import type { UploadProgress } from './upload';

/** A real progress bar: bytes sent of the file's size, and the rate so far. */
export function UploadProgressBar({ progress, label }: { progress: UploadProgress; label: string }) {
  const percent = progress.total > 0 ? Math.round((progress.loaded / progress.total) * 100) : 0;
  const perSecond = formatBytes(Math.round(progress.rate));
  const text = `${formatBytes(progress.loaded)} of ${formatBytes(progress.total)} (${percent}%) · ${perSecond}/s`;
  return (
    <div className={styles.bar}>
      <Meter role="progressbar" label={label} max={100} now={percent} text={text} percent={percent} />
      <span className={ui.muted}>{text}</span>
    </div>
  );
}
