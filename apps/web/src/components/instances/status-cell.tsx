import { taskWords } from './format';
import styles from './instances.module.css';
import type { Server } from './types';

const BUILD_STEPS = ['scheduling', 'networking', 'spawning'] as const;

const tone: Record<string, string | undefined> = {
  ACTIVE: styles.ok,
  ERROR: styles.bad,
  BUILD: styles.busy,
  REBOOT: styles.busy,
  HARD_REBOOT: styles.busy,
  REBUILD: styles.busy,
  RESIZE: styles.busy,
  SHUTOFF: styles.off,
  DELETED: styles.off,
};

/** While a server builds, where it is: scheduling → networking → spawning. */
function BuildSteps({ taskState }: { taskState: string | null }) {
  const at = BUILD_STEPS.findIndex((s) => s === taskState);
  return (
    <ol className={styles.steps} aria-label="Build steps">
      {BUILD_STEPS.map((step, i) => (
        <li key={step} aria-current={i === at ? 'step' : undefined} className={i < at ? styles.stepDone : i === at ? styles.stepNow : undefined}>
          {i < at ? '✓ ' : ''}
          {taskWords(step)}
        </li>
      ))}
    </ol>
  );
}

/** The status as a coloured badge with its text; a busy server says what it is doing, in words. */
export function StatusCell({ server }: { server: Server }) {
  const building = server.status === 'BUILD';
  return (
    <div className={styles.statusCell}>
      <span className={`${styles.badge} ${tone[server.status] ?? ''}`} data-status={server.status}>
        {server.status}
      </span>
      {building ? <BuildSteps taskState={server.taskState} /> : null}
      {!building && server.taskState ? <span className={styles.task}>{taskWords(server.taskState)}</span> : null}
      {server.fault ? <span className={styles.fault}>{server.fault.message}</span> : null}
    </div>
  );
}
