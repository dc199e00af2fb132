import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPool, type Pool } from '@aster/db';
import { freePort } from '../ports.ts';
import { startLocalPostgres, type LocalPostgres } from '../postgres.ts';
import type { RunningService } from '../services.ts';
import { postgresCpuSeconds } from './postgres-cpu.ts';
import { treeCpuSeconds } from './measure.ts';

/** What `bench:scheduler` measures besides the API: Postgres's statements and commits, CPU, and the logs' warnings. */

const round = (n: number, places = 2) => Math.round(n * 10 ** places) / 10 ** places;

/**
 * Postgres settings the benchmark needs. Connections: every pool at its maximum with two schedulers comes to
 * about 150 (the default is 100). Locks: pg-boss keeps a partition per queue, so a statement over all jobs
 * (its maintenance) takes a lock on each of a thousand partitions and their indexes; at the default of 64
 * per connection the shared lock table fills and other statements fail with "out of shared memory".
 */
export const POSTGRES_SETTINGS = { max_connections: 300, max_locks_per_transaction: 256 };

/** A throwaway Postgres with the settings above (a restart applies them) and statement statistics. */
export async function startPostgres(work: string, bin: string | undefined): Promise<LocalPostgres> {
  const start = async () => startLocalPostgres({ dir: work, port: await freePort(), bin, logFile: join(work, 'logs', 'postgres.log') });
  const first = await start();
  const pool = createPool({ connectionString: first.url, max: 1 });
  try {
    for (const [name, value] of Object.entries(POSTGRES_SETTINGS)) await pool.query(`ALTER SYSTEM SET ${name} = ${value}`);
    // Which statements Postgres spent its time on during the run.
    await pool.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
  } finally {
    await pool.end();
  }
  await first.stop();
  const pg = await start();
  const after = createPool({ connectionString: pg.url, max: 1 });
  try {
    await after.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    // Planning too: a statement planned at every call can cost Postgres more than it takes to run.
    await after.query('ALTER SYSTEM SET pg_stat_statements.track_planning = on');
    await after.query('SELECT pg_reload_conf()');
  } finally {
    await after.end();
  }
  return pg;
}

/** The statements that took Postgres the most time since the last reset, shortened. */
export async function topStatements(db: Pool, limit = 12, by: 'time' | 'plans' = 'time') {
  const { rows } = await db.query<{ query: string; calls: string; plans: string; total_ms: number; mean_ms: number; plan_ms: number; rows: string }>(
    `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls, plans, round(total_exec_time::numeric, 1)::float AS total_ms,
            round(mean_exec_time::numeric, 3)::float AS mean_ms, round(total_plan_time::numeric, 1)::float AS plan_ms, rows
       FROM pg_stat_statements ORDER BY ${by === 'plans' ? 'plans' : 'total_exec_time + total_plan_time'} DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({ totalMs: r.total_ms, planMs: r.plan_ms, calls: Number(r.calls), plans: Number(r.plans), meanMs: r.mean_ms, query: r.query.slice(0, 160) }));
}

/** Every statement Postgres ran since the last reset: how many, and their time, in all and per server. */
export async function totalStatements(db: Pool, servers: number) {
  const { rows } = await db.query<{ calls: string; plans: string; exec_ms: number; plan_ms: number; commits: string }>(
    `SELECT sum(calls) AS calls, sum(plans) AS plans, round(sum(total_exec_time)::numeric, 1)::float AS exec_ms,
            round(sum(total_plan_time)::numeric, 1)::float AS plan_ms, sum(calls) FILTER (WHERE query ILIKE 'commit%') AS commits
       FROM pg_stat_statements`,
  );
  const r = rows[0]!;
  const per = (n: number) => round(n / Math.max(1, servers), 2);
  // Counts, unlike times, do not move with how busy the machine is: the figures to compare runs by.
  return {
    calls: Number(r.calls),
    plans: Number(r.plans),
    execMs: r.exec_ms,
    planMs: r.plan_ms,
    perServer: { calls: per(Number(r.calls)), plans: per(Number(r.plans)), commits: per(Number(r.commits ?? 0)), execMs: per(r.exec_ms) },
  };
}

export type Cpu = Record<string, number>;

export function cpu(services: RunningService[], pg: LocalPostgres): Cpu {
  const out: Cpu = { postgres: postgresCpuSeconds(pg.pid!) };
  for (const s of services) out[s.name] = treeCpuSeconds(s.child.pid!);
  const own = process.cpuUsage();
  out.benchProcess = (own.user + own.system) / 1e6;
  return out;
}

export function cpuDelta(before: Cpu, after: Cpu): Cpu {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, round(v - (before[k] ?? 0))]));
}

/** Warnings and errors the services logged, counted by process, message and cause. */
export function logWarnings(dir: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.log') && f !== 'postgres.log')) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line.includes('"level":"warn"') && !line.includes('"level":"error"')) continue;
      try {
        const r = JSON.parse(line) as { level: string; msg?: string; job?: string; error?: { message?: string } };
        const key = `${file.replace(/\.log$/, '')} ${r.level}: ${r.msg ?? ''}${r.job ? ` [${r.job}]` : ''}${r.error?.message ? ` (${r.error.message})` : ''}`;
        counts[key] = (counts[key] ?? 0) + 1;
      } catch {
        // not a log record
      }
    }
  }
  return counts;
}

export async function commits(db: Pool): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()`);
  return Number(rows[0]!.n);
}
