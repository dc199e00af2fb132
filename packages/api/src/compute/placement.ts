import type { ResourceRequest } from '@aster/compute';
import { transaction, type Pool, type PoolClient, type Queryable } from '@aster/db';

/**
 * Placement (Nova's placement service, in the same database): providers, inventories, allocations.
 * A claim locks the provider's row, changes `used` with the capacity test in the UPDATE itself, and bumps the
 * provider's generation (which tells readers the provider changed); however many schedulers claim at once, a host is never
 * over-allocated, and a claim that finds room gets it. Claims, frees and registrations lock the provider row
 * before its inventories, so that they never deadlock one another.
 */

export interface Ratios {
  cpu: number;
  ram: number;
  disk: number;
}

export const defaultRatios: Ratios = { cpu: 4.0, ram: 1.0, disk: 1.0 };

export interface Inventory {
  vcpus: number;
  ramMb: number;
  diskGb: number;
  reservedRamMb: number;
  reservedDiskGb: number;
}

type ResourceClass = 'VCPU' | 'MEMORY_MB' | 'DISK_GB';

function amounts(r: ResourceRequest): [ResourceClass, number][] {
  const list: [ResourceClass, number][] = [
    ['VCPU', r.vcpus],
    ['MEMORY_MB', r.ramMb],
    ['DISK_GB', r.diskGb],
  ];
  return list.filter(([, n]) => n > 0);
}

/** Creates or updates a host's provider and inventory; answers the provider id. */
export async function upsertProvider(client: PoolClient, host: string, inv: Inventory, ratios: Ratios): Promise<string> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO resource_providers (name) VALUES ($1)
     ON CONFLICT (name) DO UPDATE SET generation = resource_providers.generation + 1, updated_at = now()
     RETURNING id`,
    [host],
  );
  const id = rows[0]!.id;
  const rowsIn: [ResourceClass, number, number, number][] = [
    ['VCPU', inv.vcpus, 0, ratios.cpu],
    ['MEMORY_MB', inv.ramMb, inv.reservedRamMb, ratios.ram],
    ['DISK_GB', inv.diskGb, inv.reservedDiskGb, ratios.disk],
  ];
  for (const [rc, total, reserved, ratio] of rowsIn) {
    await client.query(
      `INSERT INTO inventories (provider_id, resource_class, total, reserved, max_unit, allocation_ratio)
       VALUES ($1, $2, $3, $4, GREATEST($3, 1), $5)
       ON CONFLICT (provider_id, resource_class) DO UPDATE
         SET total = EXCLUDED.total, reserved = EXCLUDED.reserved, max_unit = EXCLUDED.max_unit, allocation_ratio = EXCLUDED.allocation_ratio`,
      [id, rc, total, reserved, ratio],
    );
  }
  return id;
}

/**
 * Claims `request` on the provider for `consumerId`. Answers false when the provider has no room (another
 * claim won the last slot). Claiming again for the same consumer and provider
 * is a no-op that answers true.
 */
export async function claim(pool: Pool, providerId: string, consumerId: string, request: ResourceRequest): Promise<boolean> {
  return transaction(pool, (client) => claimIn(client, providerId, consumerId, request));
}

/**
 * `claim` inside the caller's transaction, in one statement: the provider's row is locked (claims on one host
 * take turns), each inventory's `used` grows only where the capacity test in the UPDATE holds for its latest
 * version, and the allocations are written and the generation bumped only when every class fitted. When only
 * some classes fitted, a second statement gives back what the first took (the provider is still locked, so
 * nothing came in between). A consumer that already holds allocations here changes nothing and answers true
 * (one whose claim committed while this one waited for the lock meets the allocations' key, and what this
 * claim counted is given back the same way).
 * No savepoint: a claim costs one round trip, not three, and no subtransaction.
 */
export async function claimIn(client: PoolClient, providerId: string, consumerId: string, request: ResourceRequest): Promise<boolean> {
  const wanted = amounts(request);
  const { rows } = await client.query<{ providers: number; held: boolean; classes: string[] | null; amounts: number[] | null; inserted: string[] | null }>(
    `WITH p AS (SELECT id FROM resource_providers WHERE id = $1 FOR UPDATE),
          held AS (SELECT EXISTS (SELECT 1 FROM allocations WHERE consumer_id = $2 AND provider_id = $1) AS yes),
          upd AS (
            UPDATE inventories i SET used = i.used + w.n
              FROM p, held, unnest($3::text[], $4::int[]) AS w(rc, n)
             WHERE i.provider_id = p.id AND i.resource_class = w.rc AND NOT held.yes
               AND i.used + w.n <= floor((i.total - i.reserved) * i.allocation_ratio) AND i.max_unit >= w.n AND i.min_unit <= w.n
            RETURNING i.resource_class, w.n),
          ins AS (INSERT INTO allocations (consumer_id, provider_id, resource_class, used)
                  SELECT $2, $1, resource_class, n FROM upd WHERE (SELECT count(*) FROM upd) = $5
                  ON CONFLICT DO NOTHING RETURNING resource_class),
          gen AS (UPDATE resource_providers SET generation = generation + 1 WHERE id = $1 AND (SELECT count(*) FROM upd) = $5 RETURNING 1)
     SELECT (SELECT count(*) FROM p)::int AS providers, (SELECT yes FROM held) AS held,
            (SELECT array_agg(resource_class) FROM upd) AS classes, (SELECT array_agg(n) FROM upd) AS amounts,
            (SELECT array_agg(resource_class) FROM ins) AS inserted, (SELECT count(*) FROM gen)::int AS bumped`,
    [providerId, consumerId, wanted.map(([rc]) => rc), wanted.map(([, n]) => n), wanted.length],
  );
  const result = rows[0]!;
  if (result.providers === 0) return false;
  if (result.held) return true;
  const taken = result.classes ?? [];
  const written = new Set(result.inserted ?? []);
  // Every class fitted: claimed, unless a claim of this consumer committed since this statement began (its
  // allocations were already there); then what was counted twice is given back and the claim stands.
  const fitted = taken.length === wanted.length;
  const back = taken.map((rc, i) => [rc, result.amounts![i]!] as const).filter(([rc]) => !fitted || !written.has(rc));
  if (back.length > 0) {
    await client.query(
      `UPDATE inventories i SET used = i.used - w.n FROM unnest($2::text[], $3::int[]) AS w(rc, n) WHERE i.provider_id = $1 AND i.resource_class = w.rc`,
      [providerId, back.map(([rc]) => rc), back.map(([, n]) => n)],
    );
  }
  return fitted;
}

/**
 * Claims for several consumers at once (a request's instances, each on the host chosen for it), inside the
 * caller's transaction and in one statement: the providers' rows locked in id order (as `freeAllocations` and
 * other such claims lock them, so that none waits for another in a circle), then, provider by provider, what
 * its consumers ask for together. A provider grants all of it or nothing: answers the providers that granted
 * (every consumer on one of them holds its allocations). Where only some classes fitted, a second statement
 * gives back what the first took. For consumers that hold nothing yet (new instances): one that holds
 * allocations on its provider already throws, and the caller's transaction must then be undone.
 */
export async function claimManyIn(client: PoolClient, claims: { providerId: string; consumerId: string; request: ResourceRequest }[]): Promise<Set<string>> {
  const rows = claims.flatMap((c) => amounts(c.request).map(([rc, n]) => [c.providerId, c.consumerId, rc, n] as const));
  if (rows.length === 0) return new Set(claims.map((c) => c.providerId));
  const { rows: result } = await client.query<{
    fitted: string[] | null;
    back: { provider: string; rc: string; n: number }[] | null;
    inserted: number;
    expected: number;
  }>(
    `WITH w AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[]) AS w(provider_id, consumer_id, rc, n)),
          p AS (SELECT id FROM resource_providers WHERE id = ANY($5::uuid[]) ORDER BY id FOR UPDATE),
          want AS (
            SELECT w.provider_id, w.rc, sum(w.n)::int AS n, max(w.n) AS most, min(w.n) AS least
              FROM w JOIN p ON p.id = w.provider_id GROUP BY w.provider_id, w.rc),
          upd AS (
            UPDATE inventories i SET used = i.used + want.n FROM want
             WHERE i.provider_id = want.provider_id AND i.provider_id = ANY($5::uuid[]) AND i.resource_class = want.rc
               AND i.used + want.n <= floor((i.total - i.reserved) * i.allocation_ratio) AND i.max_unit >= want.most AND i.min_unit <= want.least
            RETURNING i.provider_id, i.resource_class, want.n),
          fitted AS (
            SELECT want.provider_id FROM want GROUP BY want.provider_id
            HAVING count(*) = (SELECT count(*) FROM upd WHERE upd.provider_id = want.provider_id)),
          ins AS (
            INSERT INTO allocations (consumer_id, provider_id, resource_class, used)
            SELECT w.consumer_id, w.provider_id, w.rc, w.n FROM w WHERE w.provider_id IN (SELECT provider_id FROM fitted)
            ON CONFLICT DO NOTHING RETURNING 1),
          gen AS (UPDATE resource_providers SET generation = generation + 1 WHERE id = ANY($5::uuid[]) AND id IN (SELECT provider_id FROM fitted) RETURNING 1)
     SELECT (SELECT array_agg(provider_id) FROM fitted) AS fitted,
            (SELECT json_agg(json_build_object('provider', provider_id, 'rc', resource_class, 'n', n))
               FROM upd WHERE provider_id NOT IN (SELECT provider_id FROM fitted)) AS back,
            (SELECT count(*) FROM ins)::int AS inserted,
            (SELECT count(*) FROM w WHERE w.provider_id IN (SELECT provider_id FROM fitted))::int AS expected,
            (SELECT count(*) FROM gen)::int AS bumped`,
    // The providers and consumers also as plain lists, matched against the tables' indexes whatever the planner
    // thinks of the lists' lengths (a join with them scanned whole tables when their statistics were behind).
    [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3]), [...new Set(rows.map((r) => r[0]))]],
  );
  const r = result[0]!;
  if (r.inserted !== r.expected) throw new Error('some of these consumers already hold allocations on the providers claimed on');
  const back = r.back ?? [];
  if (back.length > 0) {
    await client.query(
      `UPDATE inventories i SET used = i.used - w.n FROM unnest($1::uuid[], $2::text[], $3::int[]) AS w(provider_id, rc, n)
        WHERE i.provider_id = w.provider_id AND i.provider_id = ANY($1::uuid[]) AND i.resource_class = w.rc`,
      [back.map((b) => b.provider), back.map((b) => b.rc), back.map((b) => b.n)],
    );
  }
  const fitted = new Set(r.fitted ?? []);
  // A provider asked for nothing (every amount 0) has nothing to refuse.
  for (const c of claims) if (amounts(c.request).length === 0) fitted.add(c.providerId);
  return fitted;
}

/**
 * Frees every allocation of a consumer, or of several (an instance deleted, a build that failed on a host).
 * Run it inside a transaction: the provider rows are locked first, in one order, as claims and
 * registrations lock them, so that a free racing a claim on the same host waits instead of deadlocking.
 */
export async function freeAllocations(client: Queryable, consumerId: string | string[], providerId?: string): Promise<number> {
  const consumers = Array.isArray(consumerId) ? consumerId : [consumerId];
  if (!(await lockProvidersOf(client, consumers, providerId))) return 0;
  const { rows } = await client.query<{ provider_id: string; resource_class: string; used: number }>(
    `DELETE FROM allocations WHERE consumer_id = ANY($1::uuid[]) AND ($2::uuid IS NULL OR provider_id = $2) RETURNING provider_id, resource_class, used`,
    [consumers, providerId ?? null],
  );
  for (const r of rows) {
    await client.query('UPDATE inventories SET used = GREATEST(used - $3, 0) WHERE provider_id = $1 AND resource_class = $2', [
      r.provider_id,
      r.resource_class,
      r.used,
    ]);
  }
  const providers = [...new Set(rows.map((r) => r.provider_id))];
  if (providers.length) await client.query('UPDATE resource_providers SET generation = generation + 1 WHERE id = ANY($1::uuid[])', [providers]);
  return rows.length;
}

/** Locks the providers the consumers hold allocations on, in id order; answers how many. */
async function lockProvidersOf(client: Queryable, consumers: string[], providerId?: string): Promise<number> {
  const locked = await client.query(
    `SELECT id FROM resource_providers
      WHERE id IN (SELECT provider_id FROM allocations WHERE consumer_id = ANY($1::uuid[]) AND ($2::uuid IS NULL OR provider_id = $2))
      ORDER BY id FOR UPDATE`,
    [consumers, providerId ?? null],
  );
  return locked.rowCount ?? 0;
}

/**
 * Hands every allocation of consumer `from` to `to`, changing no usage (Nova moves an instance's allocation to
 * its migration while a resize holds both flavors). `to` must hold nothing on those providers yet.
 */
export async function moveAllocations(client: Queryable, from: string, to: string): Promise<number> {
  if (!(await lockProvidersOf(client, [from]))) return 0;
  const { rows } = await client.query<{ provider_id: string }>(
    'UPDATE allocations SET consumer_id = $2 WHERE consumer_id = $1 RETURNING provider_id',
    [from, to],
  );
  const providers = [...new Set(rows.map((r) => r.provider_id))];
  if (providers.length) await client.query('UPDATE resource_providers SET generation = generation + 1 WHERE id = ANY($1::uuid[])', [providers]);
  return rows.length;
}

/** What a provider has left of each class for new claims (after reservations, ratios and what is used). */
export async function freeOn(db: Queryable, providerId: string): Promise<ResourceRequest> {
  const { rows } = await db.query<{ resource_class: ResourceClass; free: number }>(
    `SELECT resource_class, (floor((total - reserved) * allocation_ratio) - used)::int AS free FROM inventories WHERE provider_id = $1`,
    [providerId],
  );
  const free = (rc: ResourceClass) => Math.max(0, rows.find((r) => r.resource_class === rc)?.free ?? 0);
  return { vcpus: free('VCPU'), ramMb: free('MEMORY_MB'), diskGb: free('DISK_GB') };
}

/** Every consumer an instance holds allocations under: its own id, and each of its resizes' (the old flavor's). */
export async function instanceConsumers(db: Queryable, instanceId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM migrations WHERE instance_id = $1', [instanceId]);
  return [instanceId, ...rows.map((r) => r.id)];
}

export async function providerIdOf(db: Queryable, host: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM resource_providers WHERE name = $1', [host]);
  return rows[0]?.id ?? null;
}
