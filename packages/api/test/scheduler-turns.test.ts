import { describe, expect, it } from 'vitest';
import { Turns } from '../src/workers/scheduler.ts';

describe('turns at deciding', () => {
  it('lets at most the limit run at once, the others in the order they came, and gives a turn back after a throw', async () => {
    const turns = new Turns(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const task = (n: number) =>
      turns.run(async () => {
        started.push(n);
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 10));
        running--;
        if (n === 1) throw new Error('decision 1 failed');
        return n;
      });
    const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map(task));
    expect(most).toBe(2);
    expect(started).toEqual([1, 2, 3, 4, 5, 6]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['decision 1 failed', 2, 3, 4, 5, 6]);
    // Every turn came back: two more run at once straight away.
    await Promise.all([task(7), task(8)]);
    expect(most).toBe(2);
  });
});
