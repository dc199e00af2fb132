// What a browser may load: the states, the status and the allowed actions (pure, no Node modules).
export * from './states.ts';
export * from './actions.ts';
