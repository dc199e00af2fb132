export { appRouter, createCaller, type AppRouter } from './root.ts';
export { createContext, bearerToken, defaultApiConfig, type ApiConfig, type Auth, type Context, type CreateContextOptions } from './context.ts';
export { policy, ruleFor, refusal, type Rule } from './policy.ts';
export { AsterError, errorCodes, type AsterErrorCode } from './errors.ts';
export { ensureAdmin, type BootstrapResult } from './identity/bootstrap.ts';
export { pruneIdentity } from './identity/prune.ts';
export { roles, type Role } from './roles.ts';
export { registerService, heartbeat, markStopped, serviceBinaries, type ServiceBinary } from './services/registry.ts';
