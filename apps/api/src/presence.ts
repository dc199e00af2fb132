import { heartbeat, markStopped, registerService, type ServiceBinary } from '@aster/api';
import type { Pool } from '@aster/db';
import type { Logger } from '@aster/log';

/**
 * Registers each role this process runs as a service on this host and heartbeats it, so `services.list`
 * shows it up; a clean stop marks it stopped at once.
 */
export async function startPresence(deps: { db: Pool; log: Logger; host: string; binaries: ServiceBinary[]; everySeconds: number }) {
  const { db, log, host, binaries } = deps;
  const ids = await Promise.all(binaries.map((b) => registerService(db, host, b, new Date())));
  let failing = false;
  const timer = setInterval(() => {
    heartbeat(db, ids, new Date()).then(
      () => {
        if (failing) log.info('heartbeat restored');
        failing = false;
      },
      (error: unknown) => {
        if (!failing) log.warn('heartbeat failed; the services will show as down until it works again', { error });
        failing = true;
      },
    );
  }, deps.everySeconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await markStopped(db, ids, new Date()).catch((error: unknown) => log.warn('could not mark services stopped', { error }));
    },
  };
}
