export * from './contracts.ts';
export { Jobs, type QueueOptions, type StartOptions } from './jobs.ts';
export { handler, type Envelope, type Handler, type BatchHandler, type HandlerEntry, type JobContext } from './handler.ts';
export type { SendOptions, SqlRunner, ManyItem } from './send.ts';
export type { WorkOptions } from './worker.ts';
export { VersionCaps, parseVersionCaps, versionCapsSetting, acceptedVersions, type VersionCap } from './versions.ts';
export { grantQueueRole, QUEUE_SCHEMA } from './roles.ts';
export { NotificationListener } from './listener.ts';
