export * from './states.ts';
export * from './actions.ts';
