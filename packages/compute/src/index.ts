export * from './states.ts';
export * from './actions.ts';
export * from './scheduler/index.ts';
export * from './metadata.ts';
export * from './ipv4.ts';
export * from './console.ts';
export * from './console-token.ts';
