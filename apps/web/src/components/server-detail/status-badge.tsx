import { describeTask, type TaskState } from '@aster/compute/states';
import styles from './server-detail.module.css';
import type { Server } from './types';

function tone(status: string): string {
  if (status === 'ACTIVE') return styles.ok ?? '';
  if (status === 'ERROR') return styles.bad ?? '';
  return styles.idle ?? '';
}

/** The status, with the task in words while the server is busy ("REBOOT · rebooting"). */
export function StatusBadge({ server }: { server: Server }) {
  return (
    <span className={`${styles.badge} ${tone(server.status)}`} data-testid="server-status" aria-live="polite">
      {server.status}
      {server.taskState ? ` · ${describeTask(server.taskState as TaskState)}` : ''}
    </span>
  );
}
