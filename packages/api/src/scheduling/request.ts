import type { Queryable } from '@aster/db';
import type { Auth } from '../context.ts';
import { AsterError } from '../errors.ts';
import type { CreateInput } from '../servers/create.schema.ts';
import { projectServerGroup } from './serverGroups.ts';
import { checkZoneExists } from './zones.ts';

/** Where a new server asked to go: its group, zone and hints, each checked to exist and belong to the project. */
export interface PlacementRequest {
  group: { id: string; name: string } | null;
  availabilityZone: string | null;
  hints: { sameHost?: string[]; differentHost?: string[] };
}

/** Refuses hint ids that are not live servers of the project, naming the first one. */
async function checkHintServers(db: Queryable, projectId: string, hint: string, ids: string[] | undefined): Promise<void> {
  if (!ids?.length) return;
  const { rows } = await db.query<{ id: string }>('SELECT id FROM instances WHERE id = ANY($1::uuid[]) AND project_id = $2 AND deleted_at IS NULL', [ids, projectId]);
  const found = new Set(rows.map((r) => r.id));
  const missing = ids.find((id) => !found.has(id));
  if (missing) throw new AsterError('NotFound', `Server ${missing} in schedulerHints.${hint} not found`);
}

export async function checkPlacementRequest(db: Queryable, auth: Auth, input: CreateInput, defaultZone: string): Promise<PlacementRequest> {
  const group = input.serverGroupId ? await projectServerGroup(db, auth.project.id, input.serverGroupId) : null;
  if (input.availabilityZone !== undefined) await checkZoneExists(db, input.availabilityZone, defaultZone);
  const hints = input.schedulerHints ?? {};
  await checkHintServers(db, auth.project.id, 'sameHost', hints.sameHost);
  await checkHintServers(db, auth.project.id, 'differentHost', hints.differentHost);
  return { group, availabilityZone: input.availabilityZone ?? null, hints };
}
