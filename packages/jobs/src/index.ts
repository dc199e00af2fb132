export * from './contracts.ts';
export { Jobs, handler, type Envelope, type Handler, type BatchHandler, type HandlerEntry, type JobContext, type SendOptions, type QueueOptions, type WorkOptions, type SqlRunner } from './runner.ts';
export { grantQueueRole, QUEUE_SCHEMA } from './roles.ts';
export { NotificationListener } from './listener.ts';
