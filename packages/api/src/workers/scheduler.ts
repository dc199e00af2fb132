import {
  computeFilter,
  explainNoValidHost,
  imagePropertiesFilter,
  resourcesFilter,
  runFilters,
  weighByRam,
  type RequestSpec,
} from '@aster/compute';
import { SCHEDULER_QUEUE, scheduleInstance, type Jobs } from '@aster/jobs';
import { transaction, type Pool } from '@aster/db';
import type { Logger } from '@aster/log';
import { defaultApiConfig } from '../context.ts';
import { recordEvent, type InstanceRow } from '../compute/instances.ts';
import { claim, freeAllocations, hostStates } from '../compute/placement.ts';
import { dispatchBuild, failBuild } from './dispatch.ts';

export interface SchedulerConfig {
  /** Hosts tried per build: the chosen one and up to maxAttempts - 1 alternates (Nova's max_attempts). */
  maxAttempts: number;
  /** Allocation candidates read per request (Nova's max_placement_results). */
  maxPlacementResults: number;
  serviceDownSeconds: number;
  ramWeightMultiplier: number;
  /** Signs the image URLs in the builds sent to hosts; the API's own (defaultApiConfig's) when not given. */
  serviceSecret?: string;
}

export const defaultSchedulerConfig: SchedulerConfig = { maxAttempts: 3, maxPlacementResults: 1000, serviceDownSeconds: 60, ramWeightMultiplier: 1 };

/**
 * Picks a host for one instance: placement candidates (one query), filters, the RAM weigher, then a claim on
 * the best host (the next one if another scheduler took the room first). The build goes to the chosen host
 * with the next best as alternates. When nothing fits, the server goes to ERROR with the reasons by filter.
 */
export async function scheduleOne(deps: { db: Pool; jobs: Jobs; log: Logger; config: SchedulerConfig }, instanceId: string, requestId: string): Promise<void> {
  const { db, jobs, config } = deps;
  // The instance, its image's requirements and its create action, in one read.
  const { rows: found } = await db.query<InstanceRow & { min_ram_mb: number | null; min_disk_gb: number | null; image_properties: Record<string, string> | null; action_id: string | null }>(
    `SELECT i.*, img.min_ram_mb, img.min_disk_gb, img.properties AS image_properties,
            (SELECT a.id FROM instance_actions a WHERE a.instance_id = i.id AND a.action = 'create' ORDER BY a.started_at DESC LIMIT 1) AS action_id
       FROM instances i LEFT JOIN images img ON img.id = i.image_id WHERE i.id = $1`,
    [instanceId],
  );
  const row = found[0];
  if (!row || row.deleted_at || row.vm_state !== 'building' || row.task_state !== 'scheduling') return; // done already, or deleted
  const spec: RequestSpec = {
    resources: { vcpus: row.flavor.vcpus, ramMb: row.flavor.ramMb, diskGb: row.flavor.diskGb },
    image: { minRamMb: row.min_ram_mb ?? 0, minDiskGb: row.min_disk_gb ?? 0, properties: row.image_properties ?? {} },
  };
  const filters = [computeFilter, imagePropertiesFilter];
  const actionId = row.action_id;

  const now = new Date();
  const candidates = await hostStates(db, { fits: spec.resources, limit: config.maxPlacementResults, now, downAfterSeconds: config.serviceDownSeconds });
  const ordered = weighByRam(runFilters(candidates, spec, filters).passed, config.ramWeightMultiplier);
  for (let i = 0; i < ordered.length; i++) {
    const host = ordered[i]!;
    if (!(await claim(db, host.providerId, instanceId, spec.resources))) continue; // another claim took the room
    const alternates = ordered.slice(i + 1, i + config.maxAttempts).map((h) => h.host);
    const placed = await dispatchBuild(db, jobs, instanceId, {
      host: host.host,
      alternates,
      attempt: 1,
      requestId,
      fromTask: 'scheduling',
      secret: config.serviceSecret ?? defaultApiConfig.serviceSecret,
      alsoInTransaction: (client) => recordEvent(client, { actionId, event: 'schedule', host: host.host, result: 'Success' }),
    });
    if (!placed) await transaction(db, (client) => freeAllocations(client, instanceId));
    return;
  }

  // Nothing fits: run every filter over every host, so the fault says why for each group of hosts.
  const all = await hostStates(db, { limit: config.maxPlacementResults, now, downAfterSeconds: config.serviceDownSeconds });
  const explained = runFilters(all, spec, [computeFilter, resourcesFilter, imagePropertiesFilter]);
  const message = explainNoValidHost(explained.runs, all.length);
  const details = explainNoValidHost(explained.runs, all.length, { hostNames: true });
  await recordEvent(db, { actionId, event: 'schedule', result: 'Error', details: message });
  await failBuild(db, instanceId, message, details, null);
  deps.log.info('no valid host', { instanceId, reason: details });
}

export async function startScheduler(deps: { db: Pool; jobs: Jobs; log: Logger; config: SchedulerConfig }, options: { concurrency?: number } = {}): Promise<void> {
  await deps.jobs.ensureQueue(SCHEDULER_QUEUE, { retryLimit: 5, expireInSeconds: 300 });
  deps.jobs.work(
    SCHEDULER_QUEUE,
    {
      [scheduleInstance.name]: {
        contract: scheduleInstance,
        handle: (payload, ctx) => scheduleOne(deps, (payload as { instanceId: string }).instanceId, ctx.requestId),
      },
    },
    { concurrency: options.concurrency ?? 16 },
  );
}
