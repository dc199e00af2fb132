import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { adminSession, expectError, userSession } from './harness.ts';
import { registerComputeHost } from './scheduling-harness.ts';

const db = useTestDatabase();
const rows = async () => ({
  aggregates: (await db.pool.query('SELECT id, name, metadata FROM aggregates ORDER BY id')).rows,
  hosts: (await db.pool.query('SELECT aggregate_id, host FROM aggregate_hosts ORDER BY aggregate_id, host')).rows,
});

describe('aggregates', () => {
  it('are created, renamed, zoned, given hosts and metadata, and deleted once empty', async () => {
    const admin = await adminSession(db.pool);
    await registerComputeHost(db.pool, 'ag-1');
    await registerComputeHost(db.pool, 'ag-2');

    const rack = await admin.api.aggregates.create({ name: 'ag-rack-1', availabilityZone: 'ag-az1' });
    expect(rack).toMatchObject({ name: 'ag-rack-1', availabilityZone: 'ag-az1', metadata: { availability_zone: 'ag-az1' }, hosts: [] });
    const plain = await admin.api.aggregates.create({ name: 'ag-ssd' });
    expect(plain).toMatchObject({ availabilityZone: null, metadata: {}, hosts: [] });

    await admin.api.aggregates.addHost({ id: rack.id, host: 'ag-2' });
    expect(await admin.api.aggregates.addHost({ id: rack.id, host: 'ag-1' })).toMatchObject({ hosts: ['ag-1', 'ag-2'] });
    // A zone-less aggregate may hold hosts of any zone.
    await admin.api.aggregates.addHost({ id: plain.id, host: 'ag-1' });

    const withMeta = await admin.api.aggregates.setMetadata({ id: plain.id, metadata: { ssd: 'true', gpu: 'a100' } });
    expect(withMeta.metadata).toEqual({ ssd: 'true', gpu: 'a100' });
    expect((await admin.api.aggregates.setMetadata({ id: plain.id, metadata: { gpu: null } })).metadata).toEqual({ ssd: 'true' });
    // Giving the zone-less aggregate the same zone as its host's other aggregate is fine.
    expect(await admin.api.aggregates.setMetadata({ id: plain.id, metadata: { availability_zone: 'ag-az1' } })).toMatchObject({ availabilityZone: 'ag-az1' });

    const renamed = await admin.api.aggregates.update({ id: rack.id, name: 'ag-rack-one' });
    expect(renamed).toMatchObject({ name: 'ag-rack-one', availabilityZone: 'ag-az1' });
    expect(await admin.api.aggregates.update({ id: plain.id, availabilityZone: null })).toMatchObject({ availabilityZone: null, metadata: { ssd: 'true' } });

    expect(await admin.api.aggregates.get({ id: rack.id })).toEqual(renamed);
    expect((await admin.api.aggregates.list()).map((a) => a.name)).toEqual(['ag-rack-one', 'ag-ssd']);

    await expectError(admin.api.aggregates.delete({ id: rack.id }), 'CONFLICT', /^Aggregate ag-rack-one still has 2 hosts: remove them first$/);
    await admin.api.aggregates.removeHost({ id: rack.id, host: 'ag-1' });
    await expectError(admin.api.aggregates.delete({ id: rack.id }), 'CONFLICT', /^Aggregate ag-rack-one still has 1 host: remove them first$/);
    expect(await admin.api.aggregates.removeHost({ id: rack.id, host: 'ag-2' })).toMatchObject({ hosts: [] });
    await expect(admin.api.aggregates.delete({ id: rack.id })).resolves.toEqual({ id: rack.id });
    await expectError(admin.api.aggregates.get({ id: rack.id }), 'NOT_FOUND', new RegExp(`^Aggregate ${rack.id} not found$`));
  });

  it('keep a host in one zone at most, naming both aggregates, and change nothing when refused', async () => {
    const admin = await adminSession(db.pool);
    await registerComputeHost(db.pool, 'az-h1');
    await registerComputeHost(db.pool, 'az-h2');
    const a = await admin.api.aggregates.create({ name: 'zc-rack-a', availabilityZone: 'zc-az1' });
    const b = await admin.api.aggregates.create({ name: 'zc-rack-b', availabilityZone: 'zc-az2' });
    const c = await admin.api.aggregates.create({ name: 'zc-plain' });
    await admin.api.aggregates.addHost({ id: a.id, host: 'az-h1' });
    await admin.api.aggregates.addHost({ id: c.id, host: 'az-h1' });
    await admin.api.aggregates.addHost({ id: b.id, host: 'az-h2' });
    const before = await rows();

    const conflict = /^Host az-h1 is in aggregate zc-rack-a of zone zc-az1, so aggregate zc-rack-b cannot put it in zone zc-az2: a host is in one zone at most$/;
    await expectError(admin.api.aggregates.addHost({ id: b.id, host: 'az-h1' }), 'CONFLICT', conflict);
    await expectError(
      admin.api.aggregates.setMetadata({ id: c.id, metadata: { availability_zone: 'zc-az2' } }),
      'CONFLICT',
      /^Host az-h1 is in aggregate zc-rack-a of zone zc-az1, so aggregate zc-plain cannot put it in zone zc-az2/,
    );
    await expectError(
      admin.api.aggregates.update({ id: c.id, availabilityZone: 'zc-az9' }),
      'CONFLICT',
      /^Host az-h1 is in aggregate zc-rack-a of zone zc-az1, so aggregate zc-plain cannot put it in zone zc-az9/,
    );
    await expectError(
      admin.api.aggregates.setMetadata({ id: c.id, metadata: { availability_zone: '  ' } }),
      'BAD_REQUEST',
      /^Invalid input: availability_zone must not be empty \(set it to null to remove the zone\)$/,
    );
    expect(await rows()).toEqual(before);
  });

  it('refuse unknown hosts and aggregates, duplicates and bad input', async () => {
    const admin = await adminSession(db.pool);
    await registerComputeHost(db.pool, 'bad-h1');
    const a = await admin.api.aggregates.create({ name: 'bad-agg' });
    await admin.api.aggregates.addHost({ id: a.id, host: 'bad-h1' });
    const before = await rows();
    const missing = '00000000-0000-4000-8000-000000000000';

    await expectError(admin.api.aggregates.create({ name: 'BAD-AGG' }), 'CONFLICT', /^An aggregate named BAD-AGG already exists$/);
    await expectError(admin.api.aggregates.create({ name: ' ' }), 'BAD_REQUEST', /name: must not be empty/);
    await expectError(admin.api.aggregates.create({ name: 'x', availabilityZone: '' }), 'BAD_REQUEST', /availabilityZone: must not be empty/);
    await expectError(admin.api.aggregates.addHost({ id: a.id, host: 'bad-nowhere' }), 'NOT_FOUND', /^Host bad-nowhere is not a registered compute host$/);
    await expectError(admin.api.aggregates.addHost({ id: a.id, host: 'bad-h1' }), 'CONFLICT', /^Host bad-h1 is already in aggregate bad-agg$/);
    await expectError(admin.api.aggregates.removeHost({ id: a.id, host: 'bad-h2' }), 'NOT_FOUND', /^Host bad-h2 is not in aggregate bad-agg$/);
    await expectError(admin.api.aggregates.addHost({ id: missing, host: 'bad-h1' }), 'NOT_FOUND', new RegExp(`^Aggregate ${missing} not found$`));
    await expectError(admin.api.aggregates.delete({ id: missing }), 'NOT_FOUND', new RegExp(`^Aggregate ${missing} not found$`));
    await expectError(admin.api.aggregates.setMetadata({ id: a.id, metadata: {} }), 'BAD_REQUEST', /metadata: name at least one key/);
    await expectError(admin.api.aggregates.setMetadata({ id: a.id, metadata: { k: 'v'.repeat(256) } }), 'BAD_REQUEST', /metadata values must be at most 255 characters/);
    await expectError(admin.api.aggregates.setMetadata({ id: a.id, metadata: { ['k'.repeat(256)]: 'v' } }), 'BAD_REQUEST', /metadata keys must be at most 255 characters/);

    const member = await userSession(db.pool, admin.api, { name: 'agg-member', project: 'agg-p', role: 'member' });
    await expectError(member.api.aggregates.list(), 'FORBIDDEN', /^aggregates.list needs a cloud administrator/);
    await expectError(member.api.aggregates.addHost({ id: a.id, host: 'bad-h1' }), 'FORBIDDEN', /^aggregates.addHost needs a cloud administrator/);
    expect(await rows()).toEqual(before);
  });
});
