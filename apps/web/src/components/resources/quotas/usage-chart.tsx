'use client';

import { QueryState } from '@/components/ui/query-state';
import ui from '@/components/ui/ui.module.css';
import { formatTime } from '@/lib/format';
import styles from '../resources.module.css';
import { stepPath, usageSeries } from './series';
import { HISTORY_MS, useUsageHistory } from './use-usage-history';

const W = 640;
const H = 220;
const PAD = { left: 36, right: 12, top: 12, bottom: 28 };
const INSTANCES = 'var(--accent)';
const CORES = 'var(--danger-text)';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** "Instances and cores over the last 6 hours", up to now, drawn as a small SVG step chart. */
export function UsageChart() {
  const history = useUsageHistory();
  const { now, holdings } = history;
  const from = now - HISTORY_MS;
  const series = holdings ? usageSeries(holdings, from, now) : [];
  const current = series[series.length - 1];
  const peak = series.reduce((m, p) => (p.instances > m.instances || (p.instances === m.instances && p.cores > m.cores) ? p : m), series[0] ?? { t: now, instances: 0, cores: 0 });
  const top = Math.max(1, ...series.map((p) => Math.max(p.instances, p.cores)));
  const x = (t: number) => PAD.left + ((t - from) / (now - from)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const description = current
    ? `From ${formatTime(from)} until now: now ${plural(current.instances, 'instance', 'instances')} with ${plural(current.cores, 'core', 'cores')}; at most ${plural(peak.instances, 'instance', 'instances')} with ${plural(peak.cores, 'core', 'cores')}.`
    : 'Loading';

  return (
    <section aria-labelledby="usage-chart-heading" className={ui.form}>
      <h2 id="usage-chart-heading">Instances and cores over the last 6 hours</h2>
      <QueryState isPending={history.isPending} error={history.error} what="the usage history" />
      {holdings ? (
        <>
          <svg className={styles.chart} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Instances and cores. ${description}`}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(0)} y2={y(0)} stroke="currentColor" strokeWidth={1} />
            <line x1={PAD.left} x2={PAD.left} y1={PAD.top} y2={y(0)} stroke="currentColor" strokeWidth={1} />
            <text x={PAD.left - 6} y={y(top) + 4} textAnchor="end" fontSize={11} fill="currentColor">
              {top}
            </text>
            <text x={PAD.left - 6} y={y(0) + 4} textAnchor="end" fontSize={11} fill="currentColor">
              0
            </text>
            <text x={PAD.left} y={H - 8} fontSize={11} fill="currentColor">
              {formatTime(from)}
            </text>
            <text x={W - PAD.right} y={H - 8} textAnchor="end" fontSize={11} fill="currentColor">
              now
            </text>
            <path d={stepPath(series, x, y, (p) => p.cores)} fill="none" stroke={CORES} strokeWidth={2} />
            <path d={stepPath(series, x, y, (p) => p.instances)} fill="none" stroke={INSTANCES} strokeWidth={2} />
          </svg>
          <div className={styles.legend}>
            <span>
              <span className={styles.swatch} style={{ background: INSTANCES }} />
              Instances
            </span>
            <span>
              <span className={styles.swatch} style={{ background: CORES }} />
              Cores (vCPUs)
            </span>
          </div>
          <p className={ui.muted}>
            Every server your project had since {formatTime(from)}, deleted ones included, for as long as it existed, counted as the quota counts
            it; changes while this page is open are added as they happen.
            {history.truncated ? ' Only the oldest 5000 servers of the period are counted.' : ''}
          </p>
        </>
      ) : null}
    </section>
  );
}
