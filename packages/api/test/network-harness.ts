import type { TestDatabase } from '@aster/db/testing';
import { Jobs, NETWORK_QUEUE } from '@aster/jobs';
import { afterAll, beforeAll } from 'vitest';
import { adminSession, caller, silentLog, userSession } from './harness.ts';

/** Job queues on the file's own pg-boss schema (nobody works the network queue: tests read the jobs sent). */
export function useNetworkJobs(db: TestDatabase) {
  const state: { jobs: Jobs | null } = { jobs: null };
  beforeAll(async () => {
    state.jobs = await Jobs.start({ connectionString: db.url, log: silentLog, schema: `${db.schema}_boss`, supervise: false, max: 4 });
    await state.jobs.ensureQueue(NETWORK_QUEUE);
  });
  afterAll(async () => {
    await state.jobs?.stop(0);
  });
  const withJobs = <S extends { token: string }>(s: S) => ({ ...s, api: caller(db.pool, { token: s.token, jobs: state.jobs }) });
  return {
    get jobs() {
      return state.jobs!;
    },
    async admin() {
      return withJobs(await adminSession(db.pool));
    },
    async user(spec: { name: string; project: string; role: 'admin' | 'member' | 'reader' }) {
      const admin = await adminSession(db.pool);
      return withJobs(await userSession(db.pool, admin.api, spec));
    },
    /** syncNetworks jobs sent so far. */
    async syncJobs(): Promise<number> {
      const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${db.schema}_boss.job WHERE name = $1`, [NETWORK_QUEUE]);
      return rows[0]!.n;
    },
  };
}
