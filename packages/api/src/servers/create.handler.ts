import { randomUUID } from 'node:crypto';
import { SCHEDULER_QUEUE, scheduleInstances } from '@aster/jobs';
import { queryTables, transaction } from '@aster/db';
import type { Auth, Context } from '../context.ts';
import { AsterError } from '../errors.ts';
import { flavorNotFound, toFlavor, visibleTo as flavorVisibleTo, type FlavorRow } from '../compute/flavors.ts';
import { keypairForUser } from '../compute/keypairs.ts';
import { NETWORK_ORDER, networksAsked, networksUsable, pickNetworks, uuidsOnly, type NetworkRow } from '../compute/networks.ts';
import { enforceGroupMembers, enforceQuota } from '../compute/quotas.ts';
import type { InstanceRow } from '../compute/instances.ts';
import { findVisibleImage, imageNotFound, visibleTo as imageVisibleTo } from '../images/access.ts';
import { isUuid } from '../identity/lookup.ts';
import type { ImageRow } from '../images/schema.ts';
import { checkPlacementRequest } from '../scheduling/request.ts';
import { DEFAULT_GROUP, resolveSecurityGroups } from '../network/securityGroups.ts';
import type { CreateInput } from './create.schema.ts';
import { toServer, type Server } from './view.ts';

/** An image the project may boot: one it may see (own, public, shared with it) whose data is uploaded. */
export async function bootableImage(ctx: Context, auth: Auth, imageId: string): Promise<ImageRow> {
  return checkBootable(await findVisibleImage(ctx.db, auth, imageId));
}

function checkBootable(image: ImageRow): ImageRow {
  if (image.status !== 'active') throw new AsterError('InvalidState', `Image ${image.name} is ${image.status}, not active: upload its data first`);
  return image;
}

/**
 * What a create names, read in one statement: the flavor and the image if the project may use them (null
 * otherwise, as for one that does not exist), and the networks it may use of those asked for (or, with none
 * asked for, all it may use).
 */
async function lookUpForCreate(
  ctx: Context,
  auth: Auth,
  input: CreateInput,
): Promise<{ flavor: FlavorRow | null; image: ImageRow | null; networks: NetworkRow[]; asked: string[] | null }> {
  const asked = networksAsked(input.networks);
  const rows = await queryTables(
    ctx.db,
    `SELECT f.*, i.*, n.*
       FROM (SELECT 1) one
       LEFT JOIN flavors f ON f.id = $1::uuid AND ${flavorVisibleTo('$3', '$4')}
       LEFT JOIN images i ON i.id = $2::uuid AND ($4 OR ${imageVisibleTo('$3')})
       LEFT JOIN networks n ON ${networksUsable('$5', '$4', '$3')}
      ORDER BY ${NETWORK_ORDER}`,
    [isUuid(input.flavorId) ? input.flavorId : null, isUuid(input.imageId) ? input.imageId : null, auth.project.id, auth.isAdmin, uuidsOnly(asked)],
  );
  const first = rows[0] ?? [null, null, null];
  return {
    flavor: first[0] as FlavorRow | null,
    image: first[1] as ImageRow | null,
    networks: rows.map((r) => r[2] as NetworkRow | null).filter((n): n is NetworkRow => n !== null),
    asked,
  };
}

/** Refuses a flavor too small for the image: its minimum RAM and disk, and the disk the image itself needs. */
export function checkImageFitsFlavor(
  image: Pick<ImageRow, 'name' | 'min_ram_mb' | 'min_disk_gb' | 'virtual_size'>,
  flavor: { name: string; ramMb: number; diskGb: number },
): void {
  if (flavor.ramMb < image.min_ram_mb) {
    throw new AsterError('InvalidInput', `Flavor ${flavor.name} has ${flavor.ramMb} MB of RAM; image ${image.name} needs at least ${image.min_ram_mb} MB`);
  }
  if (flavor.diskGb > 0 && flavor.diskGb < image.min_disk_gb) {
    throw new AsterError('InvalidInput', `Flavor ${flavor.name} has a ${flavor.diskGb} GB disk; image ${image.name} needs at least ${image.min_disk_gb} GB`);
  }
  const virtual = image.virtual_size ? Number(image.virtual_size) : 0;
  if (flavor.diskGb > 0 && virtual > flavor.diskGb * 1024 ** 3) {
    throw new AsterError(
      'InvalidInput',
      `Image ${image.name} is ${(virtual / 1024 ** 3).toFixed(1)} GB; it does not fit on flavor ${flavor.name}'s ${flavor.diskGb} GB disk`,
    );
  }
}

function settled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/** A host name from the server name (RFC 952/1123: letters, digits, hyphens; at most 63). */
export function hostnameFor(name: string): string {
  const h = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return h || 'server';
}

/**
 * servers.create: every check first (flavor, image, minimums, key pair, networks, user data), then rows,
 * the scheduler's jobs and the quota check in one transaction — so a refusal leaves nothing behind and a success is
 * already on its way to a host when the caller gets its answer.
 */
export async function createServers(ctx: Context, auth: Auth, input: CreateInput): Promise<Server[]> {
  if (!ctx.jobs) throw new Error('this API process has no job queue');
  // The lookups run together; their refusals are then given in this order, as if one after the other.
  const [found, keyFound] = await Promise.allSettled([
    lookUpForCreate(ctx, auth, input),
    input.keyName ? keypairForUser(ctx.db, auth.user.id, input.keyName) : Promise.resolve(null),
  ]);
  const { flavor: flavorRow, image: imageRow, networks: networkRows, asked } = settled(found);
  if (!flavorRow) throw flavorNotFound(input.flavorId);
  const flavor = toFlavor(flavorRow);
  if (!imageRow) throw imageNotFound(input.imageId);
  const image = checkBootable(imageRow);
  checkImageFitsFlavor(image, flavor);
  const maxUserData = ctx.config.maxUserDataBytes;
  if (input.userData !== undefined && Buffer.byteLength(input.userData) > maxUserData) {
    throw new AsterError(
      'InvalidInput',
      `Invalid input: userData: is ${Buffer.byteLength(input.userData)} bytes; at most ${maxUserData} bytes (${+(maxUserData / 1024).toFixed(1)} KiB) are accepted`,
    );
  }
  const key = settled(keyFound);
  const networks = pickNetworks(auth, asked, networkRows);
  const placement = await checkPlacementRequest(ctx.db, auth, input, ctx.config.defaultAvailabilityZone);
  const securityGroups = await resolveSecurityGroups(ctx.db, auth.project.id, input.securityGroups ?? [DEFAULT_GROUP]);

  const count = input.count;
  const reservationId = 'r-' + randomUUID().slice(0, 8);
  const flavorSnapshot = { id: flavor.id, name: flavor.name, vcpus: flavor.vcpus, ramMb: flavor.ramMb, diskGb: flavor.diskGb, extraSpecs: flavor.extraSpecs };
  const jobs = ctx.jobs;

  const rows = await transaction(ctx.db, async (client) => {
    // Holds the group against a concurrent delete until the members are committed.
    if (placement.group) {
      const held = await client.query('SELECT 1 FROM server_groups WHERE id = $1 FOR KEY SHARE', [placement.group.id]);
      if (!held.rowCount) throw new AsterError('NotFound', `Server group ${placement.group.id} not found`);
    }
    const names = Array.from({ length: count }, (_, i) => (count > 1 ? `${input.name}-${i + 1}` : input.name));
    const { rows: created } = await client.query<InstanceRow>(
      // Every instance of the request, its `create` action and its group membership, in one statement.
      `WITH n AS (SELECT * FROM unnest($1::uuid[], $4::text[], $5::text[]) WITH ORDINALITY AS t(id, name, hostname, k)),
       i AS (
         INSERT INTO instances (id, project_id, user_id, name, hostname, flavor_id, flavor, image_id, image, key_name, key_data,
                                user_data, metadata, tags, vm_state, task_state, request_id, reservation_id, launch_index,
                                task_started_at, requested_networks, availability_zone, scheduler_hints, security_groups)
         SELECT n.id, $2, $3, n.name, n.hostname, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'building', 'scheduling', $15, $16, n.k - 1,
                clock_timestamp(), $17, $18, $19, $21::uuid[]
           FROM n ORDER BY n.k
         RETURNING *),
       a AS (INSERT INTO instance_actions (instance_id, action, request_id, user_id, project_id) SELECT id, 'create', $15, $3, $2 FROM i),
       g AS (INSERT INTO server_group_members (group_id, instance_id) SELECT $20::uuid, id FROM i WHERE $20::uuid IS NOT NULL)
       SELECT * FROM i ORDER BY launch_index`,
      [
        names.map(() => randomUUID()),
        auth.project.id,
        auth.user.id,
        names,
        names.map(hostnameFor),
        flavor.id,
        JSON.stringify(flavorSnapshot),
        image.id,
        JSON.stringify({ id: image.id, name: image.name }),
        key?.name ?? null,
        key?.publicKey ?? null,
        input.userData ?? null,
        JSON.stringify(input.metadata ?? {}),
        input.tags ?? [],
        ctx.requestId,
        reservationId,
        networks.map((n) => n.id),
        placement.availabilityZone,
        JSON.stringify(placement.hints),
        placement.group?.id ?? null,
        securityGroups,
      ],
    );
    // One decision for the whole request (Nova's select_destinations for num_instances), in launch order.
    await jobs.send(scheduleInstances, SCHEDULER_QUEUE, { instanceIds: created.map((r) => r.id) }, { requestId: ctx.requestId, db: client });
    // Checked last, so that the project's lock is held only for the check and the commit: concurrent creates
    // in one project take turns here, and each sees what the others committed.
    await enforceQuota(
      client,
      auth.project.id,
      { instances: count, cores: flavor.vcpus * count, ramMb: flavor.ramMb * count },
      ctx.config.quotaDefaults,
      undefined,
      { excludeReservation: reservationId },
    );
    if (placement.group) {
      await enforceGroupMembers(client, auth.project.id, placement.group, count, ctx.config.quotaDefaults, { excludeReservation: reservationId });
    }
    return created;
  });
  // New servers have no ports, faults or host yet: nothing more to read.
  const groupId = placement.group?.id ?? null;
  const fresh = { ports: new Map(), faults: new Map(), placed: new Map(rows.map((r) => [r.id, { groupId, hostZone: null }])), defaultZone: ctx.config.defaultAvailabilityZone };
  return rows.map((r) => toServer(r, fresh, auth.isAdmin));
}
