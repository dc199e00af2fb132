import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { adminSession, caller, clock, userSession } from './harness.ts';
import { registerComputeHost } from './scheduling-harness.ts';

const db = useTestDatabase();

describe('availabilityZones.list', () => {
  it('shows the default zone on a new cloud, and to a tenant without hosts', async () => {
    const admin = await adminSession(db.pool);
    const reader = await userSession(db.pool, admin.api, { name: 'az-first', project: 'az-first', role: 'reader' });
    await expect(admin.api.availabilityZones.list()).resolves.toEqual([{ name: 'nova', available: false, hosts: [] }]);
    await expect(reader.api.availabilityZones.list()).resolves.toEqual([{ name: 'nova', available: false }]);
  });

  it('lists each aggregate zone and the default zone for hosts in none, available while a host is up, enabled and not forced down', async () => {
    const c = clock(new Date());
    const admin = await adminSession(db.pool, c);
    const reader = await userSession(db.pool, admin.api, { name: 'az-reader', project: 'az-p', role: 'reader' }, c);
    await registerComputeHost(db.pool, 'az-a1', { seenAt: c.now() });
    await registerComputeHost(db.pool, 'az-a2', { seenAt: c.now(), disabled: true });
    await registerComputeHost(db.pool, 'az-b1', { seenAt: c.now(), forcedDown: true });
    await registerComputeHost(db.pool, 'az-n1', { seenAt: new Date(c.now().getTime() - 3600_000) });
    const a = await admin.api.aggregates.create({ name: 'az-rack-a', availabilityZone: 'az1' });
    const b = await admin.api.aggregates.create({ name: 'az-rack-b', availabilityZone: 'az2' });
    // An aggregate without a zone is no zone; its host stays in the default zone.
    const ssd = await admin.api.aggregates.create({ name: 'az-ssd' });
    await admin.api.aggregates.addHost({ id: a.id, host: 'az-a1' });
    await admin.api.aggregates.addHost({ id: a.id, host: 'az-a2' });
    await admin.api.aggregates.addHost({ id: b.id, host: 'az-b1' });
    await admin.api.aggregates.addHost({ id: ssd.id, host: 'az-n1' });

    expect(await admin.api.availabilityZones.list()).toEqual([
      {
        name: 'az1',
        available: true,
        hosts: [
          { host: 'az-a1', status: 'up', state: 'enabled', forcedDown: false },
          { host: 'az-a2', status: 'up', state: 'disabled', forcedDown: false },
        ],
      },
      { name: 'az2', available: false, hosts: [{ host: 'az-b1', status: 'down', state: 'enabled', forcedDown: true }] },
      { name: 'nova', available: false, hosts: [{ host: 'az-n1', status: 'down', state: 'enabled', forcedDown: false }] },
    ]);
    // Tenants see names and availability, no hosts.
    expect(await reader.api.availabilityZones.list()).toEqual([
      { name: 'az1', available: true },
      { name: 'az2', available: false },
      { name: 'nova', available: false },
    ]);

    // Once every host is in a zone, the default zone is gone; the configured default is used for hosts in none.
    await admin.api.aggregates.addHost({ id: b.id, host: 'az-n1' });
    await admin.api.aggregates.removeHost({ id: ssd.id, host: 'az-n1' });
    expect((await admin.api.availabilityZones.list()).map((z) => z.name)).toEqual(['az1', 'az2']);

    await admin.api.aggregates.removeHost({ id: b.id, host: 'az-n1' });
    await registerComputeHost(db.pool, 'az-x1', { seenAt: c.now() });
    const custom = caller(db.pool, { token: admin.token, clock: c, config: { defaultAvailabilityZone: 'internal' } });
    expect(await custom.availabilityZones.list()).toMatchObject([
      { name: 'az1' },
      { name: 'az2' },
      { name: 'internal', available: true, hosts: [{ host: 'az-n1' }, { host: 'az-x1', status: 'up' }] },
    ]);
  });

  it('hypervisors show their zone, aggregates, forced-down flag and failed builds', async () => {
    const admin = await adminSession(db.pool);
    await registerComputeHost(db.pool, 'hz-1', { forcedDown: true });
    await registerComputeHost(db.pool, 'hz-2');
    await db.pool.query(`UPDATE compute_nodes SET failed_builds = 3 WHERE host = 'hz-1'`);
    const zone = await admin.api.aggregates.create({ name: 'hz-zone', availabilityZone: 'hz-az' });
    const gpu = await admin.api.aggregates.create({ name: 'hz-gpu' });
    await admin.api.aggregates.addHost({ id: zone.id, host: 'hz-1' });
    await admin.api.aggregates.addHost({ id: gpu.id, host: 'hz-1' });

    expect(await admin.api.hypervisors.get({ host: 'hz-1' })).toMatchObject({
      status: 'down',
      availabilityZone: 'hz-az',
      aggregates: ['hz-gpu', 'hz-zone'],
      forcedDown: true,
      failedBuilds: 3,
    });
    expect((await admin.api.hypervisors.list()).find((h) => h.host === 'hz-2')).toMatchObject({
      status: 'up',
      availabilityZone: 'nova',
      aggregates: [],
      forcedDown: false,
      failedBuilds: 0,
    });
  });
});
