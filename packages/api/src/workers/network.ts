import type { Pool, PoolClient } from '@aster/db';
import { handler, NETWORK_QUEUE, syncNetworks, type Jobs } from '@aster/jobs';
import type { Logger } from '@aster/log';
import { desiredNb, mapOf, OvsdbClient, reconcile, watchPortsUp, type PortUpWatch, type ReconcileReport, type Replica } from '@aster/ovn';
import { loadNetworkModel } from '../network/model.ts';
import { markPortStatus } from '../network/ports.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface NetworkWorkerDeps {
  db: Pool;
  jobs: Jobs;
  log: Logger;
  config: {
    /** OVN's northbound and southbound databases: `unix:<socket>` or `tcp:<host>:<port>`. */
    nbDb: string;
    sbDb: string;
    /** How often OVN is compared with the model, and what a difference found then is met with. */
    syncSeconds: number;
    syncMode: 'repair' | 'log';
  };
}

export interface NetworkWorker {
  cloudId: string;
  /** One pass now: OVN made to match the model (`repair`), or only compared (`log`). */
  sync(mode: 'repair' | 'log', reason: string): Promise<ReconcileReport>;
  stop(): Promise<void>;
}

/** This cloud's id, which tags every row it writes to a shared OVN. */
export async function cloudId(db: Pool): Promise<string> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM cloud_identity');
  if (!rows[0]) throw new Error('cloud_identity has no row: the database was not migrated');
  return rows[0].id;
}

/**
 * The network worker (Neutron's OVN mechanism driver and its DB sync, in one): the only writer of OVN's
 * northbound database. Every change of the model in Postgres sends `syncNetworks`; a pass reads the whole model,
 * computes the rows OVN should hold and writes the difference in one transaction. Passes never overlap: jobs that
 * arrive during one are served by the next, which reads the model after they were sent. The same pass, every
 * `syncSeconds`, finds drift (a crash between commit and write, a change made by hand) and repairs or reports it.
 * It also follows OVN's binding of ports (`Logical_Switch_Port.up`) and marks them ACTIVE or DOWN.
 */
export async function startNetworkWorker(deps: NetworkWorkerDeps): Promise<NetworkWorker> {
  const { db, jobs, log, config } = deps;
  const cloud = await cloudId(db);
  const onLog = (message: string) => log.warn(message);
  const nb = await OvsdbClient.connect(config.nbDb, { onLog }).catch((error: unknown) => {
    throw new Error(`cannot reach OVN's northbound database at ${config.nbDb} (ASTER_OVN_NB_DB): ${error instanceof Error ? error.message : String(error)}`);
  });
  const sb = await OvsdbClient.connect(config.sbDb, { onLog }).catch((error: unknown) => {
    nb.close();
    throw new Error(`cannot reach OVN's southbound database at ${config.sbDb} (ASTER_OVN_SB_DB): ${error instanceof Error ? error.message : String(error)}`);
  });

  // Routers' gateways go on the chassis that reach the external networks (a bridge mapping for their physical
  // network, as ovn-controller reports it), in a stable order of priority; a chassis without one would swallow
  // the router's outside traffic.
  const chassis: Replica = await sb.monitor('OVN_Southbound', { Chassis: { columns: ['name', 'other_config', 'external_ids'] } });
  const gatewayChassis = (physicalNetworks: Set<string>) =>
    [...chassis.rows('Chassis').values()]
      .filter((r) => {
        const mappings = mapOf(r.other_config)['ovn-bridge-mappings'] ?? mapOf(r.external_ids)['ovn-bridge-mappings'] ?? '';
        return mappings.split(',').some((m) => physicalNetworks.has(m.split(':')[0]!.trim()));
      })
      .map((r) => String(r.name))
      .filter(Boolean)
      .sort();

  let running: Promise<unknown> = Promise.resolve();
  let queued: Promise<ReconcileReport> | null = null;
  const pass = async (mode: 'repair' | 'log', reason: string): Promise<ReconcileReport> => {
    const model = await loadNetworkModel(db);
    const physical = new Set(model.networks.filter((n) => n.external && n.physicalNetwork).map((n) => n.physicalNetwork!));
    const desired = desiredNb(model, { cloudId: cloud, gatewayChassis: gatewayChassis(physical) });
    const report = await reconcile(nb, desired, { cloudId: cloud, mode });
    // Between passes, nothing but Aster should change OVN: a difference found by the periodic pass is drift.
    const drift = reason === 'periodic';
    if (report.differences.length > 0) {
      const texts = report.differences.slice(0, 20).map((d) => d.text);
      if (drift) log.warn(`OVN differed from Aster's model (${report.differences.length} differences)${mode === 'repair' ? ', repaired' : ', left as they are (log mode)'}`, { differences: texts });
      else log.info('OVN updated', { reason, differences: report.differences.length, operations: report.operations, ms: Math.round(report.ms), first: texts.slice(0, 5) });
    }
    return report;
  };
  // Repair passes asked while one runs are served together by the next one, which starts after it.
  const requestRepair = (reason: string): Promise<ReconcileReport> => {
    if (queued) return queued;
    const next = running.then(
      () => {
        queued = null;
        return pass('repair', reason);
      },
      () => {
        queued = null;
        return pass('repair', reason);
      },
    );
    queued = next;
    running = next.catch(() => {});
    return next;
  };
  const sync = (mode: 'repair' | 'log', reason: string): Promise<ReconcileReport> => {
    if (mode === 'repair') return requestRepair(reason);
    const next = running.then(() => pass('log', reason), () => pass('log', reason));
    running = next.catch(() => {});
    return next;
  };

  let watch: PortUpWatch | null = null;
  const statusWrites = new Map<string, boolean>();
  const markLater = (portId: string, up: boolean) => {
    // Only Aster's ports (named by their uuid); OVN's own rows of the cloud (an external network's localnet port) have no status here.
    if (!UUID.test(portId)) return;
    // The last state seen wins; writes for one port never overlap.
    const busy = statusWrites.has(portId);
    statusWrites.set(portId, up);
    if (busy) return;
    void (async () => {
      while (statusWrites.has(portId)) {
        const state = statusWrites.get(portId)!;
        try {
          await markPortStatus(db, portId, state ? 'ACTIVE' : 'DOWN');
        } catch (error) {
          log.warn('cannot record a port status', { portId, up: state, error });
        }
        if (statusWrites.get(portId) === state) statusWrites.delete(portId);
      }
    })();
  };

  // Ports written outside the API (placement, servers' deletion) announce themselves on a channel.
  let listening: PoolClient | null = null;
  let stopped = false;
  const listen = async (): Promise<void> => {
    try {
      const client = await db.connect();
      client.on('notification', () => void requestRepair('ports changed').catch((error: unknown) => log.error('OVN sync failed', { error })));
      client.on('error', (error) => {
        log.warn('the network worker lost its listening connection; listening again', { error });
        client.release(true);
        listening = null;
        if (!stopped) setTimeout(() => void listen(), 1000).unref();
      });
      await client.query('LISTEN aster_ovn_dirty');
      listening = client;
    } catch (error) {
      log.warn('the network worker cannot listen for port changes; trying again', { error });
      if (!stopped) setTimeout(() => void listen(), 1000).unref();
    }
  };
  await listen();

  await jobs.ensureQueue(NETWORK_QUEUE, { retryLimit: 5, expireInSeconds: 300 });
  await sync('repair', 'start');
  watch = await watchPortsUp(nb, { cloudId: cloud, onChange: markLater });
  chassis.onChange(() => void requestRepair('chassis changed').catch((error: unknown) => log.error('OVN sync failed', { error })));
  jobs.work(
    NETWORK_QUEUE,
    [
      handler(
        syncNetworks,
        (p) => requestRepair(p.reason),
        async (batch) => void (await requestRepair(batch.map((j) => j.payload.reason).join('; ').slice(0, 200))),
      ),
    ],
    { concurrency: 4 },
  );
  const timer = setInterval(
    () => void sync(config.syncMode, 'periodic').catch((error: unknown) => log.error('OVN sync failed', { error })),
    config.syncSeconds * 1000,
  );
  timer.unref();
  log.info('network worker ready', { cloudId: cloud, nbDb: config.nbDb, sbDb: config.sbDb, syncMode: config.syncMode, syncSeconds: config.syncSeconds });

  return {
    cloudId: cloud,
    sync,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      if (listening) {
        await listening.query('UNLISTEN *').catch(() => {});
        listening.release();
      }
      await watch?.close().catch(() => {});
      await running;
      nb.close();
      sb.close();
    },
  };
}
