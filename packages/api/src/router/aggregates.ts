import { transaction } from '@aster/db';
import { z } from 'zod';
import { AsterError, isUniqueViolation } from '../errors.ts';
import {
  aggregate,
  checkZoneConflict,
  checkZoneName,
  listAggregates,
  loadAggregate,
  lockAggregates,
  ZONE_KEY,
} from '../scheduling/aggregates.ts';
import { id } from '../schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

const aggregateName = z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters');
const zoneName = z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters');
const hostName = z.string().min(1, 'must name a host').max(255, 'must be at most 255 characters');
const metaKey = z.string().min(1, 'metadata keys must not be empty').max(255, 'metadata keys must be at most 255 characters');
const metaValue = z.string().max(255, 'metadata values must be at most 255 characters').nullable();
const metadataChanges = z
  .record(metaKey, metaValue, { error: (issue) => (issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined) })
  .refine((m) => Object.keys(m).length > 0, 'name at least one key')
  .refine((m) => Object.keys(m).length <= 128, 'at most 128 metadata items');

const nameTaken = (name: string) => new AsterError('Conflict', `An aggregate named ${name} already exists`);

/** Host aggregates (Nova's os-aggregates): sets of compute hosts with metadata; `availability_zone` makes one a zone. */
export const aggregatesRouter = router({
  list: authedProcedure.output(z.array(aggregate)).query(({ ctx }) => listAggregates(ctx.db)),

  get: authedProcedure
    .input(z.object({ id }))
    .output(aggregate)
    .query(({ ctx, input }) => loadAggregate(ctx.db, input.id)),

  create: authedProcedure
    .input(z.object({ name: aggregateName, availabilityZone: zoneName.optional() }))
    .output(aggregate)
    .mutation(async ({ ctx, input }) => {
      const metadata = input.availabilityZone ? { [ZONE_KEY]: input.availabilityZone } : {};
      try {
        const { rows } = await ctx.db.query<{ id: string }>('INSERT INTO aggregates (name, metadata) VALUES ($1, $2) RETURNING id', [input.name, metadata]);
        return loadAggregate(ctx.db, rows[0]!.id);
      } catch (error) {
        if (isUniqueViolation(error, 'aggregates_name_key')) throw nameTaken(input.name);
        throw error;
      }
    }),

  /** Renames, or sets the zone (null: no zone); a new zone obeys the one-zone-per-host rule. */
  update: authedProcedure
    .input(z.object({ id, name: aggregateName.optional(), availabilityZone: zoneName.nullable().optional() }))
    .output(aggregate)
    .mutation(({ ctx, input }) =>
      transaction(ctx.db, async (client) => {
        await lockAggregates(client);
        const a = await loadAggregate(client, input.id);
        const metadata = { ...a.metadata };
        if (input.availabilityZone === null) delete metadata[ZONE_KEY];
        else if (input.availabilityZone !== undefined) metadata[ZONE_KEY] = input.availabilityZone;
        await checkZoneConflict(client, a, a.hosts, metadata[ZONE_KEY] ?? null);
        try {
          await client.query('UPDATE aggregates SET name = $2, metadata = $3, updated_at = now() WHERE id = $1', [a.id, input.name ?? a.name, metadata]);
        } catch (error) {
          if (isUniqueViolation(error, 'aggregates_name_key')) throw nameTaken(input.name ?? a.name);
          throw error;
        }
        return loadAggregate(client, a.id);
      }),
    ),

  /** Refused while hosts remain, so that no host leaves its zone unnoticed. */
  delete: authedProcedure
    .input(z.object({ id }))
    .output(z.object({ id: z.string() }))
    .mutation(({ ctx, input }) =>
      transaction(ctx.db, async (client) => {
        await lockAggregates(client);
        const a = await loadAggregate(client, input.id);
        if (a.hosts.length) {
          throw new AsterError('InvalidState', `Aggregate ${a.name} still has ${a.hosts.length} host${a.hosts.length === 1 ? '' : 's'}: remove them first`);
        }
        await client.query('DELETE FROM aggregates WHERE id = $1', [a.id]);
        return { id: a.id };
      }),
    ),

  addHost: authedProcedure
    .input(z.object({ id, host: hostName }))
    .output(aggregate)
    .mutation(({ ctx, input }) =>
      transaction(ctx.db, async (client) => {
        await lockAggregates(client);
        const a = await loadAggregate(client, input.id);
        const known = await client.query('SELECT 1 FROM compute_nodes WHERE host = $1', [input.host]);
        if (!known.rowCount) throw new AsterError('NotFound', `Host ${input.host} is not a registered compute host`);
        if (a.hosts.includes(input.host)) throw new AsterError('Conflict', `Host ${input.host} is already in aggregate ${a.name}`);
        await checkZoneConflict(client, a, [input.host], a.availabilityZone);
        await client.query('INSERT INTO aggregate_hosts (aggregate_id, host) VALUES ($1, $2)', [a.id, input.host]);
        await client.query('UPDATE aggregates SET updated_at = now() WHERE id = $1', [a.id]);
        return loadAggregate(client, a.id);
      }),
    ),

  removeHost: authedProcedure
    .input(z.object({ id, host: hostName }))
    .output(aggregate)
    .mutation(({ ctx, input }) =>
      transaction(ctx.db, async (client) => {
        await lockAggregates(client);
        const a = await loadAggregate(client, input.id);
        const { rowCount } = await client.query('DELETE FROM aggregate_hosts WHERE aggregate_id = $1 AND host = $2', [a.id, input.host]);
        if (!rowCount) throw new AsterError('NotFound', `Host ${input.host} is not in aggregate ${a.name}`);
        await client.query('UPDATE aggregates SET updated_at = now() WHERE id = $1', [a.id]);
        return loadAggregate(client, a.id);
      }),
    ),

  /** Sets metadata keys; null deletes one. `availability_zone` is the zone, with the same rules as update. */
  setMetadata: authedProcedure
    .input(z.object({ id, metadata: metadataChanges }))
    .output(aggregate)
    .mutation(({ ctx, input }) =>
      transaction(ctx.db, async (client) => {
        await lockAggregates(client);
        const a = await loadAggregate(client, input.id);
        const metadata = { ...a.metadata };
        for (const [key, value] of Object.entries(input.metadata)) {
          if (value === null) delete metadata[key];
          else metadata[key] = value;
        }
        const zone = metadata[ZONE_KEY] ?? null;
        if (zone !== null) checkZoneName(zone);
        await checkZoneConflict(client, a, a.hosts, zone);
        await client.query('UPDATE aggregates SET metadata = $2, updated_at = now() WHERE id = $1', [a.id, metadata]);
        return loadAggregate(client, a.id);
      }),
    ),
});
