import { describe, expect, it } from 'vitest';
import { computeFilter, cpuFilter, diskFilter, ramFilter } from '../src/index.ts';
import { host, res, spec } from './scheduler-fixtures.ts';

describe('Compute filter', () => {
  it('passes an enabled host with a heartbeat', () => {
    expect(computeFilter.check(host('a'), spec())).toEqual({ pass: true });
  });

  it('refuses a disabled host, with the operator’s reason when there is one', () => {
    expect(computeFilter.check(host('a', { serviceDisabled: true, disabledReason: 'maintenance' }), spec())).toEqual({ pass: false, reason: 'is disabled: maintenance' });
    expect(computeFilter.check(host('a', { serviceDisabled: true }), spec())).toEqual({ pass: false, reason: 'is disabled' });
  });

  it('refuses a host an operator forced down, even with a fresh heartbeat', () => {
    expect(computeFilter.check(host('a', { forcedDown: true }), spec())).toEqual({ pass: false, reason: 'is forced down by an operator' });
  });

  it('refuses a host without a heartbeat', () => {
    expect(computeFilter.check(host('a', { serviceUp: false }), spec())).toEqual({ pass: false, reason: 'is down (no heartbeat)' });
  });

  it('names disabled first, then forced down, then down', () => {
    const all = host('a', { serviceUp: false, forcedDown: true, serviceDisabled: true, disabledReason: 'rack move' });
    expect(computeFilter.check(all, spec())).toEqual({ pass: false, reason: 'is disabled: rack move' });
    expect(computeFilter.check(host('a', { serviceUp: false, forcedDown: true }), spec())).toEqual({ pass: false, reason: 'is forced down by an operator' });
  });
});

describe('RAM filter', () => {
  it('passes a request that fits exactly after reservation and ratio', () => {
    // floor((4096 − 512) × 1.5) − 1000 = 4376
    const h = host('a', { memoryMb: res(4096, { reserved: 512, allocationRatio: 1.5, used: 1000, maxUnit: 8192 }) });
    expect(ramFilter.check(h, spec({ resources: { ramMb: 4376 } }))).toEqual({ pass: true });
    expect(ramFilter.check(h, spec({ resources: { ramMb: 4377 } }))).toEqual({ pass: false, reason: 'lacks 4377 MB of free RAM', free: 4376 });
  });

  it('says what the host has free, and nothing below zero when over-committed', () => {
    expect(ramFilter.check(host('a', { memoryMb: res(4096, { used: 5000 }) }), spec({ resources: { ramMb: 8192 } }))).toEqual({
      pass: false,
      reason: 'lacks 8192 MB of free RAM',
      free: 0,
    });
  });

  it('refuses more than one instance may have (max unit), even with room', () => {
    const h = host('a', { memoryMb: res(65536, { maxUnit: 16384 }) });
    expect(ramFilter.check(h, spec({ resources: { ramMb: 16384 } }))).toEqual({ pass: true });
    expect(ramFilter.check(h, spec({ resources: { ramMb: 32768 } }))).toEqual({ pass: false, reason: 'can give one instance at most 16384 MB of RAM' });
  });
});

describe('CPU filter', () => {
  it('counts vCPUs after the allocation ratio', () => {
    const h = host('a', { vcpu: res(4, { allocationRatio: 4, used: 14 }) }); // 16 − 14 = 2 free
    expect(cpuFilter.check(h, spec({ resources: { vcpus: 2 } }))).toEqual({ pass: true });
    expect(cpuFilter.check(h, spec({ resources: { vcpus: 3 } }))).toEqual({ pass: false, reason: 'lacks 3 free vCPUs', free: 2 });
    expect(cpuFilter.check(host('b', { vcpu: res(1, { used: 1 }) }), spec({ resources: { vcpus: 1 } }))).toEqual({ pass: false, reason: 'lacks 1 free vCPU', free: 0 });
  });

  it('refuses more vCPUs than one instance may have', () => {
    // 4 cores at ratio 4 give 16 vCPUs in all, but one instance gets at most the 4 real ones.
    const h = host('a', { vcpu: res(4, { allocationRatio: 4 }) });
    expect(cpuFilter.check(h, spec({ resources: { vcpus: 4 } }))).toEqual({ pass: true });
    expect(cpuFilter.check(h, spec({ resources: { vcpus: 8 } }))).toEqual({ pass: false, reason: 'can give one instance at most 4 vCPUs' });
  });
});

describe('Disk filter', () => {
  it('refuses a host short of disk, saying what it has', () => {
    const h = host('a', { diskGb: res(100, { used: 90 }) });
    expect(diskFilter.check(h, spec({ resources: { diskGb: 10 } }))).toEqual({ pass: true });
    expect(diskFilter.check(h, spec({ resources: { diskGb: 20 } }))).toEqual({ pass: false, reason: 'lacks 20 GB of free disk', free: 10 });
  });

  it('asks nothing of a flavor without a root disk (placement is not asked for DISK_GB)', () => {
    expect(diskFilter.check(host('a', { diskGb: res(0) }), spec({ resources: { diskGb: 0 } }))).toEqual({ pass: true });
  });

  it('refuses a disk larger than one instance may have', () => {
    expect(diskFilter.check(host('a', { diskGb: res(1000, { maxUnit: 200 }) }), spec({ resources: { diskGb: 500 } }))).toEqual({
      pass: false,
      reason: 'can give one instance at most 200 GB of disk',
    });
  });
});
