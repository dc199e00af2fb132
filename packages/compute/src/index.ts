export * from './states.ts';
export * from './actions.ts';
export * from './scheduler.ts';
export * from './metadata.ts';
