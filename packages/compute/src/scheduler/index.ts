/**
 * The scheduler's pure parts (Nova's filter scheduler): given the hosts, drop those a filter refuses, order the
 * rest by weighers, pick among the best, and explain in words why nothing fits when nothing does. No I/O.
 */
export * from './types.ts';
export * from './filters/index.ts';
export * from './weighers.ts';
export * from './select.ts';
export * from './explain.ts';
