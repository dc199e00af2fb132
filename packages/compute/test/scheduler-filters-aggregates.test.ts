import { describe, expect, it } from 'vitest';
import { aggregateInstanceExtraSpecsFilter, type HostAggregate } from '../src/index.ts';
import { host, spec } from './scheduler-fixtures.ts';

const agg = (name: string, metadata: Record<string, string>): HostAggregate => ({ id: `agg-${name}`, name, metadata });
const check = (aggregates: HostAggregate[], flavorExtraSpecs: Record<string, string>) => aggregateInstanceExtraSpecsFilter.check(host('a', { aggregates }), spec({ flavorExtraSpecs }));

describe('AggregateInstanceExtraSpecs filter', () => {
  it('passes every host for a flavor without extra specs', () => {
    expect(check([], {})).toEqual({ pass: true });
  });

  it('matches scoped keys against the metadata of any of the host’s aggregates', () => {
    const specs = { 'aggregate_instance_extra_specs:ssd': 'true' };
    expect(check([agg('fast', { ssd: 'true' })], specs)).toEqual({ pass: true });
    expect(check([agg('rack', { rack: '1' }), agg('fast', { ssd: 'true' })], specs)).toEqual({ pass: true });
    expect(check([agg('slow', { ssd: 'false' })], specs)).toEqual({ pass: false, reason: 'has no aggregate matching ssd=true' });
    expect(check([], specs)).toEqual({ pass: false, reason: 'has no aggregate matching ssd=true' });
  });

  it('matches unscoped keys too, and ignores keys of other scopes (as Nova does)', () => {
    expect(check([], { 'hw:cpu_policy': 'dedicated', 'quota:cpu_shares': '10', 'trait:HW_CPU_X86_AVX2': 'required' })).toEqual({ pass: true });
    expect(check([agg('fast', { ssd: 'true' })], { ssd: 'true' })).toEqual({ pass: true });
    expect(check([], { ssd: 'true' })).toEqual({ pass: false, reason: 'has no aggregate matching ssd=true' });
  });

  it('reads aggregate values as comma lists, any of which may match', () => {
    const aggregates = [agg('gpus', { gpu: 'a100, h100' })];
    expect(check(aggregates, { 'aggregate_instance_extra_specs:gpu': 'h100' })).toEqual({ pass: true });
    expect(check(aggregates, { 'aggregate_instance_extra_specs:gpu': 'a10' })).toEqual({ pass: false, reason: 'has no aggregate matching gpu=a10' });
  });

  it('needs every judged key to match', () => {
    const aggregates = [agg('fast', { ssd: 'true', net: '25g' })];
    expect(check(aggregates, { 'aggregate_instance_extra_specs:ssd': 'true', 'aggregate_instance_extra_specs:net': '25g' })).toEqual({ pass: true });
    expect(check(aggregates, { 'aggregate_instance_extra_specs:ssd': 'true', 'aggregate_instance_extra_specs:net': '100g' })).toEqual({
      pass: false,
      reason: 'has no aggregate matching net=100g',
    });
  });

  it('understands Nova’s operators', () => {
    const aggregates = [agg('big', { cores: '32', cpu: 'intel xeon', tier: 'gold' })];
    const passes = (key: string, req: string) => check(aggregates, { [`aggregate_instance_extra_specs:${key}`]: req }).pass;
    expect(passes('cores', '= 16')).toBe(true); // at least
    expect(passes('cores', '= 64')).toBe(false);
    expect(passes('cores', '== 32')).toBe(true);
    expect(passes('cores', '!= 32')).toBe(false);
    expect(passes('cores', '>= 32')).toBe(true);
    expect(passes('cores', '<= 8')).toBe(false);
    expect(passes('tier', 's== gold')).toBe(true);
    expect(passes('tier', 's!= gold')).toBe(false);
    expect(passes('tier', 's< silver')).toBe(true);
    expect(passes('cpu', '<in> xeon')).toBe(true);
    expect(passes('cpu', '<in> epyc')).toBe(false);
    expect(passes('cpu', '<all-in> intel xeon')).toBe(true);
    expect(passes('cpu', '<all-in> intel epyc')).toBe(false);
    expect(passes('tier', '<or> silver <or> gold')).toBe(true);
    expect(passes('tier', '<or> silver <or> bronze')).toBe(false);
    // Numbers compared with words match nothing, rather than failing the request.
    expect(passes('tier', '!= 3')).toBe(false);
  });
});
