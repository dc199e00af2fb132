import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { registerService } from '../src/index.ts';
import { adminSession, clock, expectError, userSession } from './harness.ts';

const db = useTestDatabase();

type Inv = { total: number; used?: number; reserved?: number; ratio?: number };

/** A compute host as its agent registers it: a resource provider, its inventories and a compute node. */
async function computeHost(
  host: string,
  inventories: Partial<Record<'VCPU' | 'MEMORY_MB' | 'DISK_GB', Inv>>,
  node: { type?: string; runningVms?: number; capabilities?: object; updatedAt?: Date } = {},
) {
  const { rows } = await db.pool.query<{ id: string }>('INSERT INTO resource_providers (name) VALUES ($1) RETURNING id', [host]);
  const provider = rows[0]!.id;
  for (const [cls, inv] of Object.entries(inventories)) {
    await db.pool.query(
      `INSERT INTO inventories (provider_id, resource_class, total, reserved, max_unit, allocation_ratio, used)
       VALUES ($1, $2, $3, $4, $3, $5, $6)`,
      [provider, cls, inv.total, inv.reserved ?? 0, inv.ratio ?? 1, inv.used ?? 0],
    );
  }
  await db.pool.query(
    `INSERT INTO compute_nodes (host, provider_id, hypervisor_type, capabilities, running_vms, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [host, provider, node.type ?? 'qemu', node.capabilities ?? {}, node.runningVms ?? 0, node.updatedAt ?? new Date('2026-01-01T00:00:00Z')],
  );
}

describe('hypervisors', () => {
  it('list each compute host with its inventory, service state and heartbeat status', async () => {
    const c = clock();
    const admin = await adminSession(db.pool, c);
    await computeHost(
      'hv-1',
      {
        VCPU: { total: 8, used: 6, reserved: 1, ratio: 4 },
        MEMORY_MB: { total: 16384, used: 4096, reserved: 512, ratio: 1.5 },
        DISK_GB: { total: 100, used: 20 },
      },
      { type: 'kvm', runningVms: 3, capabilities: { cpuModel: 'host-passthrough', arch: 'x86_64' } },
    );
    await computeHost('hv-2', { VCPU: { total: 2 } });
    await computeHost('hv-3', {});
    await registerService(db.pool, 'hv-1', 'aster-compute', c.now());
    await registerService(db.pool, 'hv-2', 'aster-compute', new Date(c.now().getTime() - 61_000));
    // A service of another binary on the same host says nothing about the hypervisor.
    await registerService(db.pool, 'hv-3', 'aster-conductor', c.now());
    const hv2 = await db.pool.query<{ id: string }>(`SELECT id FROM services WHERE host = 'hv-2' AND binary_name = 'aster-compute'`);
    await admin.api.services.disable({ id: hv2.rows[0]!.id, reason: 'bad DIMM' });

    const listed = await admin.api.hypervisors.list();
    expect(listed.map((h) => h.host)).toEqual(['hv-1', 'hv-2', 'hv-3']);
    expect(listed[0]).toEqual({
      host: 'hv-1',
      hypervisorType: 'kvm',
      state: 'enabled',
      status: 'up',
      disabledReason: null,
      vcpus: { total: 8, used: 6, reserved: 1, allocationRatio: 4, free: 22 },
      ramMb: { total: 16384, used: 4096, reserved: 512, allocationRatio: 1.5, free: 19712 },
      diskGb: { total: 100, used: 20, reserved: 0, allocationRatio: 1, free: 80 },
      runningVms: 3,
      capabilities: { cpuModel: 'host-passthrough', arch: 'x86_64' },
      updatedAt: '2026-01-01T00:00:00.000Z',
      availabilityZone: 'nova',
      aggregates: [],
      forcedDown: false,
      failedBuilds: 0,
    });
    expect(listed[1]).toMatchObject({
      host: 'hv-2',
      state: 'disabled',
      status: 'down',
      disabledReason: 'bad DIMM',
      vcpus: { total: 2, used: 0, free: 2 },
      ramMb: { total: 0, used: 0, free: 0 },
    });
    // A host whose agent never registered: nobody disabled it, but it is not heard from.
    expect(listed[2]).toMatchObject({ host: 'hv-3', state: 'enabled', status: 'down', vcpus: { total: 0 } });

    c.advance(61);
    await expect(admin.api.hypervisors.get({ host: 'hv-1' })).resolves.toMatchObject({ host: 'hv-1', status: 'down' });
  });

  it('get answers one host, and refuses unknown hosts, bad input and everyone but administrators', async () => {
    const admin = await adminSession(db.pool);
    await computeHost('hv-get', { VCPU: { total: 4 } });
    await expect(admin.api.hypervisors.get({ host: 'hv-get' })).resolves.toMatchObject({ host: 'hv-get', vcpus: { total: 4 } });
    await expectError(admin.api.hypervisors.get({ host: 'hv-none' }), 'NOT_FOUND', /^Hypervisor hv-none not found$/);
    await expectError(admin.api.hypervisors.get({ host: '' }), 'BAD_REQUEST', /host: must name a host/);

    const member = await userSession(db.pool, admin.api, { name: 'hv-member', project: 'hv-p', role: 'member' });
    const projectAdmin = await userSession(db.pool, admin.api, { name: 'hv-padmin', project: 'hv-p', role: 'admin' });
    const reader = await userSession(db.pool, admin.api, { name: 'hv-reader', project: 'hv-p', role: 'reader' });
    for (const s of [member, projectAdmin, reader]) {
      await expectError(s.api.hypervisors.list(), 'FORBIDDEN', /hypervisors.list needs a cloud administrator/);
      await expectError(s.api.hypervisors.get({ host: 'hv-get' }), 'FORBIDDEN', /hypervisors.get needs a cloud administrator/);
    }
  });

  it('candidates answers the hosts with room for a flavor, in a zone when asked, at most the limit', async () => {
    const admin = await adminSession(db.pool);
    await db.pool.query(`INSERT INTO flavors (name, vcpus, ram_mb, disk_gb) VALUES ('hv.cand', 2, 4096, 20)`);
    const flavorId = (await db.pool.query<{ id: string }>(`SELECT id FROM flavors WHERE name = 'hv.cand'`)).rows[0]!.id;
    await computeHost('cand-roomy', { VCPU: { total: 8 }, MEMORY_MB: { total: 16384 }, DISK_GB: { total: 100 } });
    await computeHost('cand-full', { VCPU: { total: 8 }, MEMORY_MB: { total: 16384, used: 14336 }, DISK_GB: { total: 100 } });
    await computeHost('cand-zoned', { VCPU: { total: 8, ratio: 4 }, MEMORY_MB: { total: 8192 }, DISK_GB: { total: 100 } });
    const rack = await admin.api.aggregates.create({ name: 'cand-rack', availabilityZone: 'cand-az' });
    await admin.api.aggregates.addHost({ id: rack.id, host: 'cand-zoned' });

    const all = (await admin.api.hypervisors.candidates({ flavorId })).filter((c) => c.host.startsWith('cand-'));
    expect(all.sort((a, b) => a.host.localeCompare(b.host))).toEqual([
      { host: 'cand-roomy', free: { vcpus: 8, ramMb: 16384, diskGb: 100 } },
      { host: 'cand-zoned', free: { vcpus: 32, ramMb: 8192, diskGb: 100 } },
    ]);
    expect(await admin.api.hypervisors.candidates({ flavorId, availabilityZone: 'cand-az' })).toEqual([{ host: 'cand-zoned', free: { vcpus: 32, ramMb: 8192, diskGb: 100 } }]);
    expect(await admin.api.hypervisors.candidates({ flavorId, availabilityZone: 'nowhere' })).toEqual([]);
    expect(await admin.api.hypervisors.candidates({ flavorId, limit: 1 })).toHaveLength(1);
    await expectError(admin.api.hypervisors.candidates({ flavorId, limit: 0 }), 'BAD_REQUEST', /limit: must be at least 1/);
    const member = await userSession(db.pool, admin.api, { name: 'cand-member', project: 'cand-p', role: 'member' });
    await expectError(member.api.hypervisors.candidates({ flavorId }), 'FORBIDDEN', /hypervisors.candidates needs a cloud administrator/);
  });
});
