import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { heartbeat, markStopped, registerService } from '../src/index.ts';
import { adminSession, clock, expectError, userSession } from './harness.ts';

const db = useTestDatabase();

describe('services', () => {
  it('are up while they heartbeat, down after the down time, and down at once when stopped cleanly', async () => {
    const c = clock();
    const admin = await adminSession(db.pool, c);
    const scheduler = await registerService(db.pool, 'ctl-1', 'aster-scheduler', c.now());
    const conductor = await registerService(db.pool, 'ctl-1', 'aster-conductor', c.now());
    const status = async () =>
      Object.fromEntries((await admin.api.services.list()).filter((s) => s.host === 'ctl-1').map((s) => [s.binary, s.status]));
    expect(await status()).toEqual({ 'aster-conductor': 'up', 'aster-scheduler': 'up' });

    c.advance(50);
    await heartbeat(db.pool, [scheduler], c.now());
    c.advance(15);
    expect(await status()).toEqual({ 'aster-conductor': 'down', 'aster-scheduler': 'up' });

    await markStopped(db.pool, [scheduler], c.now());
    const stopped = (await admin.api.services.list()).find((s) => s.id === scheduler)!;
    expect(stopped).toMatchObject({ status: 'down', stoppedAt: c.now().toISOString() });

    // A restart registers the same service again, not a second one.
    expect(await registerService(db.pool, 'ctl-1', 'aster-scheduler', c.now())).toBe(scheduler);
    expect(await registerService(db.pool, 'ctl-1', 'aster-conductor', c.now())).toBe(conductor);
    expect(await status()).toEqual({ 'aster-conductor': 'up', 'aster-scheduler': 'up' });
  });

  it('are disabled with a reason and enabled again, by administrators only', async () => {
    const admin = await adminSession(db.pool);
    const id = await registerService(db.pool, 'ctl-2', 'aster-conductor', new Date());
    await expect(admin.api.services.disable({ id, reason: 'kernel upgrade' })).resolves.toEqual({ id, state: 'disabled' });
    expect((await admin.api.services.list()).find((s) => s.id === id)).toMatchObject({ state: 'disabled', disabledReason: 'kernel upgrade' });
    await admin.api.services.enable({ id });
    expect((await admin.api.services.list()).find((s) => s.id === id)).toMatchObject({ state: 'enabled', disabledReason: null });

    const member = await userSession(db.pool, admin.api, { name: 'svc-member', project: 'svc', role: 'member' });
    const before = await db.pool.query('SELECT * FROM services ORDER BY id');
    await expectError(admin.api.services.disable({ id, reason: '  ' }), 'BAD_REQUEST', /reason: say why the service is disabled/);
    await expectError(admin.api.services.enable({ id: '00000000-0000-4000-8000-000000000000' }), 'NOT_FOUND', /Service 00000000-0000-4000-8000-000000000000 not found/);
    await expectError(member.api.services.disable({ id, reason: 'sneaky' }), 'FORBIDDEN', /services.disable needs a cloud administrator/);
    expect((await db.pool.query('SELECT * FROM services ORDER BY id')).rows).toEqual(before.rows);
  });
});
