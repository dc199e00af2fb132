import { createLogger } from '@aster/log';
import { env } from './env.ts';

/**
 * The compute agent of one host (nova-compute). It talks to the rest of Aster only through its queue and
 * the image endpoint; the queue contracts and the hypervisor driver plug in here.
 */
const log = createLogger('compute-agent', { level: env.ASTER_LOG_LEVEL }, { host: env.ASTER_COMPUTE_HOST });

log.info('ready', { api: env.ASTER_API_URL });

// Keeps the process alive until it is told to stop.
const alive = setInterval(() => {}, 1 << 30);
const stop = (signal: string) => {
  log.info('stopping', { signal });
  clearInterval(alive);
};
process.once('SIGINT', () => stop('SIGINT'));
process.once('SIGTERM', () => stop('SIGTERM'));
// Started by the launcher with an IPC channel: its closing means the launcher is gone.
process.once('disconnect', () => stop('launcher gone'));
process.channel?.unref(); // the channel alone must not keep the process alive
