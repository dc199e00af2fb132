import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { registerService } from '../src/index.ts';
import { adminSession, clock, expectError, userSession } from './harness.ts';
import { registerComputeHost } from './scheduling-harness.ts';

const db = useTestDatabase();

describe('services.forceDown', () => {
  it('marks a compute service down whatever its heartbeat says, and up again when lifted', async () => {
    const c = clock(new Date());
    const admin = await adminSession(db.pool, c);
    const id = (await registerComputeHost(db.pool, 'fd-1', { seenAt: c.now() }))!;
    const seen = async () => (await admin.api.services.list()).find((s) => s.id === id)!;
    expect(await seen()).toMatchObject({ status: 'up', forcedDown: false });

    await expect(admin.api.services.forceDown({ id, forcedDown: true })).resolves.toEqual({ id, forcedDown: true });
    expect(await seen()).toMatchObject({ status: 'down', forcedDown: true, state: 'enabled' });
    expect(await admin.api.hypervisors.get({ host: 'fd-1' })).toMatchObject({ status: 'down', forcedDown: true });
    expect((await admin.api.availabilityZones.list()).find((z) => z.name === 'nova')).toMatchObject({ available: false });

    await expect(admin.api.services.forceDown({ id, forcedDown: false })).resolves.toEqual({ id, forcedDown: false });
    expect(await seen()).toMatchObject({ status: 'up', forcedDown: false });
    expect((await admin.api.availabilityZones.list()).find((z) => z.name === 'nova')).toMatchObject({ available: true });
  });

  it('is refused for other services, unknown ids and everyone but administrators', async () => {
    const admin = await adminSession(db.pool);
    const conductor = await registerService(db.pool, 'fd-ctl', 'aster-conductor', new Date());
    const compute = (await registerComputeHost(db.pool, 'fd-2'))!;
    const member = await userSession(db.pool, admin.api, { name: 'fd-member', project: 'fd-p', role: 'member' });
    const before = (await db.pool.query('SELECT * FROM services ORDER BY id')).rows;

    await expectError(
      admin.api.services.forceDown({ id: conductor, forcedDown: true }),
      'BAD_REQUEST',
      /^Service aster-conductor on fd-ctl is not a compute service; only aster-compute services can be forced down$/,
    );
    const missing = '00000000-0000-4000-8000-000000000000';
    await expectError(admin.api.services.forceDown({ id: missing, forcedDown: true }), 'NOT_FOUND', new RegExp(`^Service ${missing} not found$`));
    await expectError(member.api.services.forceDown({ id: compute, forcedDown: true }), 'FORBIDDEN', /^services.forceDown needs a cloud administrator/);
    expect((await db.pool.query('SELECT * FROM services ORDER BY id')).rows).toEqual(before);
  });
});
