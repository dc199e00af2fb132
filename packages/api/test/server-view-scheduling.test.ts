import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import type { Explanation } from '@aster/compute';
import { loadMetadataSource } from '../src/metadata/source.ts';
import { adminSession, insertInstance, userSession } from './harness.ts';
import { registerComputeHost } from './scheduling-harness.ts';

const db = useTestDatabase();

const explanation: Explanation = {
  hosts: 3,
  filters: [
    { filter: 'Compute', entered: 3, removed: 1, reasons: [{ reason: 'is disabled', count: 1, hosts: ['sv-h3'] }] },
    { filter: 'RAM', entered: 2, removed: 2, reasons: [{ reason: 'lacks 8192 MB of free memory', count: 2, hosts: ['sv-h1', 'sv-h2'], mostFree: 4096 }] },
  ],
};

describe('the server view', () => {
  it('gives administrators a NoValidHost explanation as stored, and tenants the same without host names', async () => {
    const admin = await adminSession(db.pool);
    const alice = await userSession(db.pool, admin.api, { name: 'sv-alice', project: 'sv-a', role: 'reader' });
    const id = await insertInstance(db.pool, alice.project.id, 'sv-failed');
    await db.pool.query(`UPDATE instances SET vm_state = 'error', flavor = $2, image = $3 WHERE id = $1`, [
      id,
      { id: id, name: 'm1.big', vcpus: 1, ramMb: 8192, diskGb: 1 },
      { id: id, name: 'img' },
    ]);
    await db.pool.query(`INSERT INTO instance_faults (instance_id, code, message, details, explanation) VALUES ($1, 500, $2, 'trace', $3)`, [
      id,
      'No valid host: 2 hosts lacked 8192 MB of free memory, 1 host is disabled',
      JSON.stringify(explanation),
    ]);

    const tenant = await alice.api.servers.get({ id });
    expect(tenant.fault).toMatchObject({ code: 500, message: 'No valid host: 2 hosts lacked 8192 MB of free memory, 1 host is disabled', details: null });
    expect(tenant.fault!.explanation).toEqual({
      hosts: 3,
      filters: [
        { filter: 'Compute', entered: 3, removed: 1, reasons: [{ reason: 'is disabled', count: 1 }] },
        { filter: 'RAM', entered: 2, removed: 2, reasons: [{ reason: 'lacks 8192 MB of free memory', count: 2, mostFree: 4096 }] },
      ],
    });
    expect(JSON.stringify(await alice.api.servers.list())).not.toMatch(/sv-h\d/);

    const asAdmin = await admin.api.servers.get({ id });
    expect(asAdmin.fault).toMatchObject({ details: 'trace', explanation });
    const listed = (await admin.api.servers.list({ allProjects: true })).servers.find((s) => s.id === id)!;
    expect(listed.fault!.explanation).toEqual(explanation);
  });

  it('shows the host’s zone once the server has a host, else the zone asked for, in get, list and the metadata', async () => {
    const admin = await adminSession(db.pool);
    const bob = await userSession(db.pool, admin.api, { name: 'sv-bob', project: 'sv-b', role: 'member' });
    await registerComputeHost(db.pool, 'sv-z1');
    await registerComputeHost(db.pool, 'sv-plain');
    const rack = await admin.api.aggregates.create({ name: 'sv-rack', availabilityZone: 'sv-az1' });
    await admin.api.aggregates.addHost({ id: rack.id, host: 'sv-z1' });

    const onZoned = await insertInstance(db.pool, bob.project.id, 'sv-on-zoned');
    const onPlain = await insertInstance(db.pool, bob.project.id, 'sv-on-plain');
    const asked = await insertInstance(db.pool, bob.project.id, 'sv-asked');
    const any = await insertInstance(db.pool, bob.project.id, 'sv-any');
    await db.pool.query(`UPDATE instances SET flavor = '{"id":"f","name":"f","vcpus":1,"ramMb":1,"diskGb":1}', image = '{"id":"i","name":"i"}'`);
    await db.pool.query(`UPDATE instances SET host = 'sv-z1', availability_zone = NULL WHERE id = $1`, [onZoned]);
    await db.pool.query(`UPDATE instances SET host = 'sv-plain', availability_zone = 'ignored' WHERE id = $1`, [onPlain]);
    await db.pool.query(`UPDATE instances SET availability_zone = 'sv-az1' WHERE id = $1`, [asked]);

    const zones = Object.fromEntries((await bob.api.servers.list()).servers.map((s) => [s.name, s.availabilityZone]));
    expect(zones).toEqual({ 'sv-on-zoned': 'sv-az1', 'sv-on-plain': 'nova', 'sv-asked': 'sv-az1', 'sv-any': null });
    expect((await bob.api.servers.get({ id: onZoned })).availabilityZone).toBe('sv-az1');

    // The metadata service tells the guest its zone.
    expect((await loadMetadataSource(db.pool, onZoned))!.availabilityZone).toBe('sv-az1');
    expect((await loadMetadataSource(db.pool, onPlain, 'internal'))!.availabilityZone).toBe('internal');
    expect((await loadMetadataSource(db.pool, any))!.availabilityZone).toBe('nova');
  });
});
