import { useTestDatabase } from '@aster/db/testing';
import { CONDUCTOR_QUEUE, Jobs } from '@aster/jobs';
import { createLogger } from '@aster/log';
import { afterAll, describe, expect, it } from 'vitest';
import { startConductor, type ConductorConfig } from '../src/index.ts';
import { sendSweep } from '../src/workers/sweeper.ts';
import { silentLog } from './harness.ts';

// The sweep for hung builds and dead hosts runs once per interval across the cloud, however many conductors run.
const db = useTestDatabase();
const bossSchema = () => `${db.schema}_boss`;
const config: ConductorConfig = { ratios: { cpu: 4, ram: 1, disk: 1 }, buildTimeoutSeconds: 600, serviceDownSeconds: 60, sweepSeconds: 2 };
const started: Jobs[] = [];
afterAll(async () => {
  for (const jobs of started) await jobs.stop(1000);
});

/** The sweep jobs of the conductor queue, by state, with their slots. */
async function sweepJobs(): Promise<{ state: string; slot: number }[]> {
  const { rows } = await db.pool.query<{ state: string; slot: number }>(
    `SELECT state, (data->'payload'->>'slot')::int AS slot FROM ${bossSchema()}.job WHERE name = $1 AND data->>'job' = 'sweepBuilds' ORDER BY slot`,
    [CONDUCTOR_QUEUE],
  );
  return rows;
}

describe('the sweep', () => {
  it('is one job per interval, taken by one of two conductors, never swept twice for one interval', async () => {
    const swept: { conductor: string; slot: number }[] = [];
    for (const conductor of ['c1', 'c2']) {
      const jobs = await Jobs.start({ connectionString: db.url, log: silentLog, schema: bossSchema(), supervise: false, max: 4 });
      started.push(jobs);
      const log = createLogger('test', {
        level: 'debug',
        write: (line) => {
          const record = JSON.parse(line) as { msg: string; slot?: number };
          if (record.msg === 'swept') swept.push({ conductor, slot: record.slot! });
        },
      });
      await startConductor({ db: db.pool, jobs, log, config });
    }
    // Both conductors asked for the next sweep: there is one.
    expect((await sweepJobs()).filter((j) => j.state === 'created')).toHaveLength(1);

    await new Promise((r) => setTimeout(r, 7000));
    // A sweep every 2 s (each taken within a poll of its time), each interval's by one conductor only.
    const slots = swept.map((s) => s.slot);
    expect(slots.length).toBeGreaterThanOrEqual(2);
    expect(slots.length).toBeLessThanOrEqual(5);
    expect(new Set(slots).size).toBe(slots.length);
    for (let i = 1; i < slots.length; i++) expect(slots[i]).toBeGreaterThan(slots[i - 1]!);
    const jobs = await sweepJobs();
    expect(jobs.filter((j) => j.state === 'completed').map((j) => j.slot)).toEqual(expect.arrayContaining(slots));
    expect(jobs.filter((j) => j.state === 'created')).toHaveLength(1);
  }, 20_000);

  it('skips to the next interval due after a pause, rather than sweeping once per interval missed', async () => {
    const jobs = started[0]!;
    const deps = { db: db.pool, jobs, log: silentLog, config };
    const before = new Set((await sweepJobs()).map((j) => j.slot));
    await sendSweep(deps, 5); // the job of an interval long past
    const now = Math.floor(Date.now() / 1000 / config.sweepSeconds);
    const added = (await sweepJobs()).filter((j) => !before.has(j.slot)).map((j) => j.slot);
    // The next interval due (or the one after, if the clock moved on meanwhile), not interval 6; and sent again, one job still.
    expect(added.every((slot) => slot === now + 1 || slot === now + 2)).toBe(true);
    expect(added.length).toBeLessThanOrEqual(1);
    await sendSweep(deps, 5);
    expect((await sweepJobs()).filter((j) => !before.has(j.slot)).length).toBeLessThanOrEqual(1);
  });
});
