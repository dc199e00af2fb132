'use client';

import { QueryState } from '@/components/ui/query-state';
import ui from '@/components/ui/ui.module.css';
import { formatTime } from '@/lib/format';
import styles from '../resources.module.css';
import { pastSeries, stepPath, type Point } from './series';
import { HISTORY_MS, useUsageHistory } from './use-usage-history';

const W = 640;
const H = 220;
const PAD = { left: 36, right: 12, top: 12, bottom: 28 };
const INSTANCES = 'var(--accent)';
const CORES = 'var(--danger-text)';
const LIVE_ROOM_MS = 60 * 60 * 1000;

/** "Instances and cores over the last hours", drawn as a small SVG step chart. */
export function UsageChart() {
  const history = useUsageHistory();
  const { openedAt, now, initial, live } = history;
  const from = openedAt - HISTORY_MS;
  const past: Point[] = initial ? pastSeries(initial, from, openedAt) : [];
  const current = live[live.length - 1];
  const liveSeries = current ? [...live, { ...current, t: now }] : [];
  const all = [...past, ...liveSeries];
  const top = Math.max(1, ...all.map((p) => Math.max(p.instances, p.cores)));
  // The live part gets room from the start, so a page just opened still shows where it begins.
  const right = Math.max(now, openedAt + LIVE_ROOM_MS);
  const x = (t: number) => PAD.left + ((t - from) / (right - from)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const opened = formatTime(openedAt);
  const description = current
    ? `Now ${current.instances} instances with ${current.cores} cores. Before ${opened}: rebuilt from creation times; since then: live.`
    : 'Loading';

  return (
    <section aria-labelledby="usage-chart-heading" className={ui.form}>
      <h2 id="usage-chart-heading">Instances and cores over the last hours</h2>
      <QueryState isPending={history.isPending} error={history.error} what="servers" />
      {initial ? (
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
            <line x1={x(openedAt)} x2={x(openedAt)} y1={PAD.top} y2={y(0)} stroke="currentColor" strokeDasharray="2 3" />
            <text x={PAD.left} y={H - 8} fontSize={11} fill="currentColor">
              {formatTime(from)}
            </text>
            <text x={x(openedAt) - 4} y={PAD.top + 10} textAnchor="end" fontSize={11} fill="currentColor">
              page opened {opened}
            </text>
            <text x={x(openedAt)} y={H - 8} textAnchor="middle" fontSize={11} fill="currentColor">
              {opened}
            </text>
            <text x={W - PAD.right} y={H - 8} textAnchor="end" fontSize={11} fill="currentColor">
              {formatTime(right)}
            </text>
            <path d={stepPath(past, x, y, (p) => p.cores)} fill="none" stroke={CORES} strokeWidth={2} strokeDasharray="5 4" />
            <path d={stepPath(past, x, y, (p) => p.instances)} fill="none" stroke={INSTANCES} strokeWidth={2} strokeDasharray="5 4" />
            <path d={stepPath(liveSeries, x, y, (p) => p.cores)} fill="none" stroke={CORES} strokeWidth={2} />
            <path d={stepPath(liveSeries, x, y, (p) => p.instances)} fill="none" stroke={INSTANCES} strokeWidth={2} />
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
            Dashed, before {opened}: from creation times of the servers that exist now (servers deleted earlier are not known).
            Solid: live since {opened}, when this page opened, from every change of your servers.
            {history.truncated ? ' Only the first 1000 servers are counted.' : ''}
          </p>
        </>
      ) : null}
    </section>
  );
}
