import { describe, expect, it } from 'vitest';
import { usageAt, usageSeries } from '../src/components/resources/quotas/series.ts';

describe('the usage chart’s series', () => {
  const holdings = [
    { vcpus: 2, created: 0, deleted: null }, // there all along
    { vcpus: 4, created: 20, deleted: 60 }, // came and went within the window
    { vcpus: 8, created: 0, deleted: 5 }, // gone before it
    { vcpus: 1, created: 90, deleted: null }, // after the window's end
  ];

  it('counts a server for as long as it existed, deleted or not', () => {
    expect(usageAt(holdings, 10)).toEqual({ t: 10, instances: 1, cores: 2 });
    expect(usageAt(holdings, 20)).toEqual({ t: 20, instances: 2, cores: 6 });
    expect(usageAt(holdings, 60)).toEqual({ t: 60, instances: 1, cores: 2 });
  });

  it('steps at each creation and deletion, and ends at its end, never later', () => {
    expect(usageSeries(holdings, 10, 80)).toEqual([
      { t: 10, instances: 1, cores: 2 },
      { t: 20, instances: 2, cores: 6 },
      { t: 60, instances: 1, cores: 2 },
      { t: 80, instances: 1, cores: 2 },
    ]);
  });
});
