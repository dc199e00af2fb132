import { defaultFilterNames, filtersByName, weighersFromMultipliers, type HostFilter, type WeighedBy, type WeightMultipliers } from '@aster/compute';
import type { Jobs } from '@aster/jobs';
import type { Pool } from '@aster/db';
import type { Logger } from '@aster/log';
import { defaultApiConfig } from '../context.ts';
import { HostStateCache } from './host-cache.ts';

export interface SchedulerConfig {
  /** Hosts tried per build: the chosen one and up to maxAttempts - 1 alternates (Nova's max_attempts). */
  maxAttempts: number;
  serviceDownSeconds: number;
  /** The zone of hosts in no zone (Nova's default_availability_zone). */
  defaultAvailabilityZone: string;
  /** Filters to run, in order (Nova's enabled_filters, without the "Filter" suffix). */
  filters: string[];
  /** NumInstances: the most instances one host may hold (Nova's max_instances_per_host). */
  maxInstancesPerHost: number;
  /** Weigher multipliers (Nova's *_weight_multiplier); 0 turns a weigher off, a negative one reverses it. */
  weights: WeightMultipliers;
  /** Pick at random among this many best hosts (Nova's host_subset_size), so schedulers racing spread out. */
  hostSubsetSize: number;
  /** How long a read of the hosts serves decisions before it is read again, ms (changes announced sooner end it). */
  hostStateTtlMs: number;
  /**
   * Decisions one scheduler process makes at once. Its queue is still fetched many jobs at a time; the rest wait
   * their turn. A few at once keep the database busy; many at once only share the process, so that each
   * decision takes as long as all of them.
   */
  concurrentDecisions: number;
  /** Signs the image URLs in the builds sent to hosts; the API's own (defaultApiConfig's) when not given. */
  serviceSecret?: string;
}

export const defaultSchedulerConfig: SchedulerConfig = {
  maxAttempts: 3,
  serviceDownSeconds: 60,
  defaultAvailabilityZone: 'nova',
  filters: [...defaultFilterNames],
  maxInstancesPerHost: 50,
  weights: { ram: 1, cpu: 0, disk: 0, numInstances: 0, softAffinity: 1, softAntiAffinity: 1, buildFailure: 1_000_000 },
  hostSubsetSize: 1,
  hostStateTtlMs: 1000,
  concurrentDecisions: 2,
};

export interface SchedulerDeps {
  db: Pool;
  jobs: Jobs;
  log: Logger;
  config: SchedulerConfig;
  hosts?: HostStateCache;
  /** The process's turns at deciding (made by startScheduler); without them, decisions do not wait for one. */
  turns?: { run<T>(fn: () => Promise<T>): Promise<T> };
}

/** The filters and weighers a configuration names, built once per configuration rather than per decision. */
const pipelines = new WeakMap<SchedulerConfig, { filters: HostFilter[]; weighers: WeighedBy[] }>();
export function pipelineOf(config: SchedulerConfig): { filters: HostFilter[]; weighers: WeighedBy[] } {
  let built = pipelines.get(config);
  if (!built) {
    built = { filters: filtersByName(config.filters, { maxInstancesPerHost: config.maxInstancesPerHost }), weighers: weighersFromMultipliers(config.weights) };
    pipelines.set(config, built);
  }
  return built;
}

/** Throws, naming the problem, when the configured filters or weighers cannot be built. */
export function checkSchedulerConfig(config: SchedulerConfig): void {
  pipelineOf(config);
}

export const secretOf = (config: SchedulerConfig) => config.serviceSecret ?? defaultApiConfig.serviceSecret;

/** The process's view of the hosts, made on first use. */
export function hostsOf(deps: SchedulerDeps): HostStateCache {
  return (deps.hosts ??= new HostStateCache({
    db: deps.db,
    ttlMs: deps.config.hostStateTtlMs,
    downAfterSeconds: deps.config.serviceDownSeconds,
    defaultZone: deps.config.defaultAvailabilityZone,
    countInstances: deps.config.filters.includes('NumInstances') || deps.config.weights.numInstances !== 0,
  }));
}
