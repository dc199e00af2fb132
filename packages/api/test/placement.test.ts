import { randomUUID } from 'node:crypto';
import type { ResourceRequest } from '@aster/compute';
import { createPool, transaction, type Pool } from '@aster/db';
import { useTestDatabase } from '@aster/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocationCandidates, readHostStates } from '../src/compute/host-states.ts';
import { claim, claimIn, claimManyIn, freeAllocations, providerIdOf, upsertProvider, type Inventory, type Ratios } from '../src/compute/placement.ts';
import { markStopped, registerService } from '../src/index.ts';

const db = useTestDatabase();
// Wider than the test pool, so that claims really run side by side.
let wide: Pool;
beforeAll(() => {
  wide = createPool({ connectionString: db.url, schema: db.schema, max: 20 });
});
afterAll(() => wide?.end());

const ratios: Ratios = { cpu: 4, ram: 1, disk: 1 };
const small: ResourceRequest = { vcpus: 1, ramMb: 2048, diskGb: 20 };

async function provider(name: string, inv: Partial<Inventory> = {}, r: Ratios = ratios): Promise<string> {
  const full: Inventory = { vcpus: 16, ramMb: 65536, diskGb: 1000, reservedRamMb: 512, reservedDiskGb: 0, ...inv };
  return transaction(db.pool, (client) => upsertProvider(client, name, full, r));
}

/** inventories.used, allocations summed, and the generation of one provider. */
async function usage(providerId: string) {
  const { rows } = await db.pool.query<{ resource_class: string; used: number; allocated: number }>(
    `SELECT i.resource_class, i.used, COALESCE((SELECT sum(a.used) FROM allocations a WHERE a.provider_id = i.provider_id AND a.resource_class = i.resource_class), 0)::int AS allocated
       FROM inventories i WHERE i.provider_id = $1 ORDER BY i.resource_class`,
    [providerId],
  );
  const gen = await db.pool.query<{ generation: number }>('SELECT generation FROM resource_providers WHERE id = $1', [providerId]);
  return {
    used: Object.fromEntries(rows.map((r) => [r.resource_class, r.used])),
    allocated: Object.fromEntries(rows.map((r) => [r.resource_class, r.allocated])),
    generation: gen.rows[0]!.generation,
  };
}

const hostStates = (o: { now: Date }) => readHostStates(db.pool, { now: o.now, downAfterSeconds: 60, defaultZone: 'nova' });
const candidates = async (prefix: string, fits?: ResourceRequest) =>
  (fits ? await allocationCandidates(db.pool, { resources: fits, defaultZone: 'nova', limit: 1000 }) : await hostStates({ now: new Date() }))
    .map((h) => h.host)
    .filter((h) => h.startsWith(prefix))
    .sort();

describe('allocation candidates', () => {
  it('answers only hosts with room after reservations and allocation ratios', async () => {
    await provider('cand-big', { ramMb: 8192 }); // 7680 MB free
    await provider('cand-exact', { ramMb: 4096 }); // 3584 MB free
    // 2560 MB after the reservation, 3840 at ratio 1.5; one instance still gets at most the 3072 it has.
    await provider('cand-ratio', { ramMb: 3072 }, { cpu: 4, ram: 1.5, disk: 1 });
    await provider('cand-disk', { ramMb: 65536, diskGb: 100, reservedDiskGb: 90 }); // 10 GB free

    expect(await candidates('cand-')).toEqual(['cand-big', 'cand-disk', 'cand-exact', 'cand-ratio']);
    expect(await candidates('cand-', { vcpus: 1, ramMb: 3584, diskGb: 10 })).toEqual(['cand-big', 'cand-disk', 'cand-exact']);
    expect(await candidates('cand-', { vcpus: 1, ramMb: 3585, diskGb: 10 })).toEqual(['cand-big', 'cand-disk']);
    expect(await candidates('cand-', { vcpus: 1, ramMb: 3072, diskGb: 11 })).toEqual(['cand-big', 'cand-exact', 'cand-ratio']);
    expect(await candidates('cand-', { vcpus: 1, ramMb: 3073, diskGb: 0 })).toEqual(['cand-big', 'cand-disk', 'cand-exact']);
  });

  it('counts what is already claimed, and gives it back when freed', async () => {
    const id = await provider('used-1', { ramMb: 8192 });
    const consumer = randomUUID();
    expect(await claim(db.pool, id, consumer, { vcpus: 1, ramMb: 5000, diskGb: 1 })).toBe(true);
    expect(await candidates('used-', { vcpus: 1, ramMb: 2680, diskGb: 1 })).toEqual(['used-1']);
    expect(await candidates('used-', { vcpus: 1, ramMb: 2681, diskGb: 1 })).toEqual([]);
    await freeAllocations(db.pool, consumer);
    expect(await candidates('used-', { vcpus: 1, ramMb: 7680, diskGb: 1 })).toEqual(['used-1']);
  });

  it('leaves out a host that cannot give one instance that much (max unit), even with the ratio', async () => {
    await provider('unit-1', { vcpus: 4 }); // 16 vCPUs at ratio 4, at most 4 for one instance
    expect(await candidates('unit-', { vcpus: 4, ramMb: 512, diskGb: 1 })).toEqual(['unit-1']);
    expect(await candidates('unit-', { vcpus: 5, ramMb: 512, diskGb: 1 })).toEqual([]);
  });

  it('reports each host as the scheduler needs it: resources, and up only while heartbeating and not stopped', async () => {
    await provider('state-up', { ramMb: 4096, vcpus: 2 });
    await provider('state-old');
    await provider('state-stopped');
    await provider('state-never');
    const now = new Date();
    await registerService(db.pool, 'state-up', 'aster-compute', now);
    await registerService(db.pool, 'state-old', 'aster-compute', new Date(now.getTime() - 61_000));
    const stopped = await registerService(db.pool, 'state-stopped', 'aster-compute', now);
    await markStopped(db.pool, [stopped], now);

    const hosts = (await hostStates({ now })).filter((h) => h.host.startsWith('state-'));
    expect(Object.fromEntries(hosts.map((h) => [h.host, h.serviceUp]))).toEqual({ 'state-never': false, 'state-old': false, 'state-stopped': false, 'state-up': true });
    expect(hosts.find((h) => h.host === 'state-up')).toMatchObject({
      vcpu: { total: 2, reserved: 0, allocationRatio: 4, used: 0, maxUnit: 2 },
      memoryMb: { total: 4096, reserved: 512, allocationRatio: 1, used: 0, maxUnit: 4096 },
      diskGb: { total: 1000, reserved: 0, allocationRatio: 1, used: 0, maxUnit: 1000 },
      serviceDisabled: false,
    });
  });

  it('keeps what is used when a host registers again with a new inventory', async () => {
    const id = await provider('again-1', { ramMb: 8192 });
    expect(await claim(db.pool, id, randomUUID(), small)).toBe(true);
    expect(await provider('again-1', { ramMb: 16384 })).toBe(id);
    const state = (await hostStates({ now: new Date() })).find((h) => h.host === 'again-1')!;
    expect(state.memoryMb).toMatchObject({ total: 16384, used: 2048 });
  });
});

describe('claims', () => {
  it('bumps the generation once per claim and per free, and writes one allocation row per resource class', async () => {
    const id = await provider('gen-1');
    const before = (await usage(id)).generation;
    const consumer = randomUUID();
    expect(await claim(db.pool, id, consumer, small)).toBe(true);
    expect(await usage(id)).toEqual({
      used: { DISK_GB: 20, MEMORY_MB: 2048, VCPU: 1 },
      allocated: { DISK_GB: 20, MEMORY_MB: 2048, VCPU: 1 },
      generation: before + 1,
    });
    expect(await freeAllocations(db.pool, consumer)).toBe(3);
    expect(await usage(id)).toEqual({ used: { DISK_GB: 0, MEMORY_MB: 0, VCPU: 0 }, allocated: { DISK_GB: 0, MEMORY_MB: 0, VCPU: 0 }, generation: before + 2 });
    // Nothing to free: nothing changes, not even the generation.
    expect(await freeAllocations(db.pool, consumer)).toBe(0);
    expect((await usage(id)).generation).toBe(before + 2);
  });

  it('claims nothing for a resource the flavor does not ask for (a flavor without disk)', async () => {
    const id = await provider('nodisk-1');
    const consumer = randomUUID();
    expect(await claim(db.pool, id, consumer, { vcpus: 2, ramMb: 1024, diskGb: 0 })).toBe(true);
    expect((await usage(id)).used).toEqual({ DISK_GB: 0, MEMORY_MB: 1024, VCPU: 2 });
    const { rows } = await db.pool.query('SELECT resource_class FROM allocations WHERE consumer_id = $1 ORDER BY 1', [consumer]);
    expect(rows.map((r) => r.resource_class)).toEqual(['MEMORY_MB', 'VCPU']);
  });

  it('is a no-op answering true when the same consumer claims again', async () => {
    const id = await provider('again-claim', { ramMb: 4096 });
    const consumer = randomUUID();
    expect(await claim(db.pool, id, consumer, small)).toBe(true);
    const after = await usage(id);
    expect(await claim(db.pool, id, consumer, small)).toBe(true);
    expect(await usage(id)).toEqual(after);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM allocations WHERE consumer_id = $1', [consumer]);
    expect(rows[0].n).toBe(3);
  });

  it('answers false, claiming nothing, when one resource class has no room', async () => {
    const id = await provider('full-1', { ramMb: 4096, diskGb: 10 });
    const before = await usage(id);
    expect(await claim(db.pool, id, randomUUID(), small)).toBe(false); // the RAM fits, the disk does not
    expect(await usage(id)).toEqual(before);
    expect(await claim(db.pool, randomUUID(), randomUUID(), small)).toBe(false); // no such provider
  });

  it('frees only the given provider when asked to', async () => {
    const a = await provider('two-a');
    const b = await provider('two-b');
    const consumer = randomUUID();
    expect(await claim(db.pool, a, consumer, small)).toBe(true);
    expect(await claim(db.pool, b, consumer, small)).toBe(true);
    expect(await freeAllocations(db.pool, consumer, a)).toBe(3);
    expect((await usage(a)).used.MEMORY_MB).toBe(0);
    expect((await usage(b)).used.MEMORY_MB).toBe(2048);
    expect(await providerIdOf(db.pool, 'two-b')).toBe(b);
    expect(await providerIdOf(db.pool, 'two-none')).toBeNull();
  });

  it('makes a second claim wait for the first and see its outcome (the last slot)', async () => {
    const id = await provider('race-1', { ramMb: 2048 + 512 }); // room for one m1.small
    const first = await wide.connect();
    const second = await wide.connect();
    try {
      await first.query('BEGIN');
      expect(await claimIn(first, id, randomUUID(), small)).toBe(true);
      await second.query('BEGIN');
      const late = claimIn(second, id, randomUUID(), small);
      await new Promise((r) => setTimeout(r, 200));
      await first.query('ROLLBACK'); // the first gives the slot back: the second gets it
      expect(await late).toBe(true);
      await second.query('COMMIT');
      await first.query('BEGIN');
      expect(await claimIn(first, id, randomUUID(), small)).toBe(false);
      await first.query('COMMIT');
    } finally {
      first.release();
      second.release();
    }
    expect((await usage(id)).used).toEqual({ DISK_GB: 20, MEMORY_MB: 2048, VCPU: 1 });
  });

  it('refuses inside the caller\'s transaction without undoing the caller\'s own work', async () => {
    const id = await provider('savepoint-1', { ramMb: 2048 + 512 });
    const consumer = randomUUID();
    await transaction(db.pool, async (client) => {
      expect(await claimIn(client, id, consumer, small)).toBe(true);
      expect(await claimIn(client, id, randomUUID(), small)).toBe(false);
    });
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM allocations WHERE provider_id = $1', [id]);
    expect(rows[0].n).toBe(3);
    expect((await usage(id)).used).toEqual({ DISK_GB: 20, MEMORY_MB: 2048, VCPU: 1 });
  });
});

describe('claims under concurrency', () => {
  it('lets exactly as many claims win as there is room for, however many race', async () => {
    const id = await provider('conc-5', { ramMb: 5 * 2048 + 512 }); // room for exactly 5 m1.small
    const consumers = Array.from({ length: 40 }, () => randomUUID());
    const results = await Promise.all(consumers.map((c) => claim(wide, id, c, small)));
    expect(results.filter(Boolean)).toHaveLength(5);
    const after = await usage(id);
    expect(after.used).toEqual({ DISK_GB: 100, MEMORY_MB: 10240, VCPU: 5 });
    expect(after.allocated).toEqual(after.used);
    const { rows } = await db.pool.query<{ consumer_id: string }>('SELECT DISTINCT consumer_id FROM allocations WHERE provider_id = $1', [id]);
    expect(rows.map((r) => r.consumer_id).sort()).toEqual(consumers.filter((_, i) => results[i]).sort());
  });

  it('lets every racing claim win when there is room for all of them', async () => {
    const id = await provider('conc-all', { vcpus: 64, ramMb: 40 * 2048 + 512 });
    const results = await Promise.all(Array.from({ length: 40 }, () => claim(wide, id, randomUUID(), small)));
    expect(results.filter((r) => !r)).toHaveLength(0);
    const after = await usage(id);
    expect(after.used).toEqual({ DISK_GB: 800, MEMORY_MB: 81920, VCPU: 40 });
  });

  it('keeps used equal to the allocations while claims and frees race on one host', async () => {
    const id = await provider('conc-mixed', { vcpus: 64, ramMb: 200_000 });
    const held = Array.from({ length: 20 }, () => randomUUID());
    await Promise.all(held.map((c) => claim(wide, id, c, small)));
    const fresh = Array.from({ length: 20 }, () => randomUUID());
    const results = await Promise.all([...held.map((c) => transaction(wide, (client) => freeAllocations(client, c))), ...fresh.map((c) => claim(wide, id, c, small))]);
    expect(results.slice(0, 20)).toEqual(Array(20).fill(3));
    expect(results.slice(20)).toEqual(Array(20).fill(true));
    const after = await usage(id);
    expect(after.used).toEqual({ DISK_GB: 400, MEMORY_MB: 40960, VCPU: 20 });
    expect(after.allocated).toEqual(after.used);
  });

  it('counts one claim when the same consumer claims many times at once', async () => {
    const id = await provider('conc-same');
    const consumer = randomUUID();
    const results = await Promise.all(Array.from({ length: 10 }, () => claim(wide, id, consumer, small)));
    expect(results).toEqual(Array(10).fill(true));
    expect((await usage(id)).used).toEqual({ DISK_GB: 20, MEMORY_MB: 2048, VCPU: 1 });
  });
});

describe('claims for several consumers at once', () => {
  it('grant a provider all its consumers ask for together, or nothing, giving back what only some classes took', async () => {
    const roomy = await provider('many-roomy', { ramMb: 3 * 2048 + 512 }); // room for three m1.small
    const tight = await provider('many-tight', { ramMb: 4096 + 512, diskGb: 30 }); // RAM for two, disk for one
    const [a, b, c, d] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const tightBefore = await usage(tight);
    const granted = await transaction(db.pool, (client) =>
      claimManyIn(client, [
        { providerId: roomy, consumerId: a, request: small },
        { providerId: tight, consumerId: b, request: small },
        { providerId: roomy, consumerId: c, request: small },
        { providerId: tight, consumerId: d, request: small },
      ]),
    );
    expect(granted).toEqual(new Set([roomy]));
    const after = await usage(roomy);
    expect(after.used).toEqual({ DISK_GB: 40, MEMORY_MB: 4096, VCPU: 2 });
    expect(after.allocated).toEqual(after.used);
    expect(after.generation).toBeGreaterThan(0);
    // The RAM and CPU two would take were given back with the disk they lacked.
    expect(await usage(tight)).toEqual(tightBefore);
    // A consumer already holding a place on a provider: refused, and its transaction undone.
    await expect(
      transaction(db.pool, (client) =>
        claimManyIn(client, [
          { providerId: roomy, consumerId: a, request: small }, // roomy has room for it: the claim is made, then met
          { providerId: tight, consumerId: randomUUID(), request: small },
        ]),
      ),
    ).rejects.toThrow('some of these consumers already hold allocations on the providers claimed on');
    expect((await usage(roomy)).used).toEqual({ DISK_GB: 40, MEMORY_MB: 4096, VCPU: 2 });
    expect(await usage(tight)).toEqual(tightBefore);
  });

  it('never over-fill a provider nor wait for one another in a circle when racing over the same hosts', async () => {
    const hosts = await Promise.all([0, 1, 2, 3].map((i) => provider(`many-race-${i}`, { ramMb: 5 * 2048 + 512 }))); // five each
    // Twenty transactions, each claiming two per host in its own order of hosts.
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, t) =>
        transaction(wide, (client) =>
          claimManyIn(
            client,
            [...hosts.slice(t % 4), ...hosts.slice(0, t % 4)].flatMap((providerId) => [
              { providerId, consumerId: randomUUID(), request: small },
              { providerId, consumerId: randomUUID(), request: small },
            ]),
          ),
        ),
      ),
    );
    // Five slots a host, taken two at a time: two claims of two each, the fifth slot left.
    for (const host of hosts) {
      expect(results.filter((granted) => granted.has(host))).toHaveLength(2);
      const after = await usage(host);
      expect(after.used).toEqual({ DISK_GB: 80, MEMORY_MB: 8192, VCPU: 4 });
      expect(after.allocated).toEqual(after.used);
    }
  });
});
