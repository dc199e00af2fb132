import { randomUUID } from 'node:crypto';
import { createPool, transaction, type Queryable } from '@aster/db';
import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { enforceQuota, keypairUsage, quotaLimits, quotaUsage, remaining } from '../src/compute/quotas.ts';
import { defaultApiConfig } from '../src/index.ts';
import { adminSession, expectError, userSession } from './harness.ts';

const db = useTestDatabase();
const defaults = defaultApiConfig.quotaDefaults;

async function newProject(name: string): Promise<string> {
  const { rows } = await db.pool.query<{ id: string }>('INSERT INTO projects (name) VALUES ($1) RETURNING id', [name]);
  return rows[0]!.id;
}

/** A server row as servers.create leaves it, with its own copy of the flavor. */
async function insertInstance(q: Queryable, projectId: string, flavor = { vcpus: 1, ramMb: 512 }, deleted = false): Promise<string> {
  const id = randomUUID();
  await q.query(
    `INSERT INTO instances (id, project_id, name, hostname, flavor_id, flavor, image_id, image, vm_state, reservation_id, deleted_at)
     VALUES ($1, $2, $3, $3, $4, $5, $6, '{}', $7, $8, $9)`,
    [id, projectId, `vm-${id.slice(0, 8)}`, randomUUID(), { name: 'test', diskGb: 1, ...flavor }, randomUUID(), deleted ? 'deleted' : 'active', `r-${id}`, deleted ? new Date() : null],
  );
  return id;
}

const quotaRows = async () => (await db.pool.query('SELECT * FROM quotas ORDER BY project_id, resource')).rows;

describe('quota accounting', () => {
  it('limits come from the project’s rows over the defaults; usage counts live servers from their flavor copy', async () => {
    const p = await newProject('qa-usage');
    expect(await quotaLimits(db.pool, p, defaults)).toEqual(defaults);
    await db.pool.query(`INSERT INTO quotas (project_id, resource, hard_limit) VALUES ($1, 'cores', 4), ($1, 'ramMb', -1)`, [p]);
    expect(await quotaLimits(db.pool, p, defaults)).toEqual({ ...defaults, cores: 4, ramMb: -1 });

    expect(await quotaUsage(db.pool, p)).toEqual({ instances: 0, cores: 0, ramMb: 0, serverGroups: 0 });
    await insertInstance(db.pool, p, { vcpus: 2, ramMb: 2048 });
    await insertInstance(db.pool, p, { vcpus: 1, ramMb: 512 });
    await insertInstance(db.pool, p, { vcpus: 8, ramMb: 8192 }, true);
    await db.pool.query(`INSERT INTO server_groups (project_id, name, policy) VALUES ($1, 'g', 'affinity')`, [p]);
    expect(await quotaUsage(db.pool, p)).toEqual({ instances: 2, cores: 3, ramMb: 2560, serverGroups: 1 });
    expect(remaining({ ...defaults, cores: 4, ramMb: -1 }, { instances: 2, cores: 5, ramMb: 2560, keypairs: 0, serverGroups: 1, networks: 0, subnets: 0, ports: 0, routers: 0, floatingIps: 0, securityGroups: 0, securityGroupRules: 0 })).toEqual({
      instances: defaults.instances - 2,
      cores: 0,
      ramMb: -1,
      keypairs: defaults.keypairs,
      serverGroups: defaults.serverGroups - 1,
      networks: 100,
      subnets: 100,
      ports: 500,
      routers: 10,
      floatingIps: 50,
      securityGroups: 10,
      securityGroupRules: 100,
    });
  });

  it('enforceQuota names every resource over its limit, by how much, and lets -1 through', async () => {
    const p = await newProject('qa-enforce');
    await db.pool.query(`INSERT INTO quotas (project_id, resource, hard_limit) VALUES ($1, 'cores', 20), ($1, 'ramMb', 4096), ($1, 'instances', -1)`, [p]);
    for (let i = 0; i < 9; i++) await insertInstance(db.pool, p, { vcpus: 2, ramMb: 256 });
    const check = (request: Parameters<typeof enforceQuota>[2]) => transaction(db.pool, (c) => enforceQuota(c, p, request, defaults));

    await expect(check({ instances: 1, cores: 2, ramMb: 1024 })).resolves.toBeUndefined();
    await expect(check({ instances: 1, cores: 4, ramMb: 512 })).rejects.toMatchObject({
      code: 'QuotaExceeded',
      message: 'Quota exceeded for cores: 4 requested, 18 of 20 in use (2 over the limit)',
    });
    await expect(check({ instances: 1000, cores: 3, ramMb: 4000 })).rejects.toMatchObject({
      message: 'Quota exceeded for cores: 3 requested, 18 of 20 in use (1 over the limit); ramMb: 4000 requested, 2304 of 4096 in use (2208 over the limit)',
    });
    // Nothing asked, nothing refused, even when already over.
    await db.pool.query(`UPDATE quotas SET hard_limit = 1 WHERE project_id = $1 AND resource = 'cores'`, [p]);
    await expect(check({ cores: 0, instances: 0 })).resolves.toBeUndefined();
    await expect(transaction(db.pool, (c) => enforceQuota(c, randomUUID(), { instances: 1 }, defaults))).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('counts key pairs per user, against the project’s limit', async () => {
    const admin = await adminSession(db.pool);
    const u = await userSession(db.pool, admin.api, { name: 'qa-keys', project: 'qa-keys', role: 'member' });
    expect(await keypairUsage(db.pool, u.user.id)).toBe(0);
    await db.pool.query(`INSERT INTO quotas (project_id, resource, hard_limit) VALUES ($1, 'keypairs', 1)`, [u.project.id]);
    await db.pool.query(`INSERT INTO keypairs (user_id, name, key_type, public_key, fingerprint) VALUES ($1, 'k', 'ssh-ed25519', 'x', 'y')`, [u.user.id]);
    expect(await keypairUsage(db.pool, u.user.id)).toBe(1);
    await expect(transaction(db.pool, (c) => enforceQuota(c, u.project.id, { keypairs: 1 }, defaults, u.user.id))).rejects.toMatchObject({
      message: 'Quota exceeded for keypairs: 1 requested, 1 of 1 in use (1 over the limit)',
    });
    await expect(transaction(db.pool, (c) => enforceQuota(c, u.project.id, { keypairs: 1 }, defaults, admin.user.id))).resolves.toBeUndefined();
  });

  it('lets exactly the limit through when 50 creates race in one project', async () => {
    const p = await newProject('qa-race');
    await db.pool.query(`INSERT INTO quotas (project_id, resource, hard_limit) VALUES ($1, 'instances', 10)`, [p]);
    // A pool of its own, so that many transactions really are open at once.
    const pool = createPool({ connectionString: db.url, schema: db.schema, max: 20 });
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, () =>
          transaction(pool, async (client) => {
            await enforceQuota(client, p, { instances: 1 }, defaults);
            await insertInstance(client, p);
          }),
        ),
      );
      const refused = results.filter((r) => r.status === 'rejected');
      expect(results.length - refused.length).toBe(10);
      for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'QuotaExceeded' });
    } finally {
      await pool.end();
    }
    expect((await quotaUsage(db.pool, p)).instances).toBe(10);
  });
});

describe('quotas.get and quotas.set', () => {
  it('readers see their own project’s quotas, and only administrators see another’s', async () => {
    const admin = await adminSession(db.pool);
    const r = await userSession(db.pool, admin.api, { name: 'qg-reader', project: 'qg-a', role: 'reader' });
    await userSession(db.pool, admin.api, { name: 'qg-other', project: 'qg-b', role: 'member' });
    await insertInstance(db.pool, r.project.id, { vcpus: 2, ramMb: 1024 });
    const expected = { project: { id: r.project.id, name: 'qg-a' }, limits: defaults, usage: { instances: 1, cores: 2, ramMb: 1024, serverGroups: 0 } };

    await expect(r.api.quotas.get()).resolves.toEqual(expected);
    await expect(r.api.quotas.get({ project: 'QG-A' })).resolves.toEqual(expected);
    await expect(r.api.quotas.get({ project: r.project.id })).resolves.toEqual(expected);
    await expect(admin.api.quotas.get({ project: 'qg-a' })).resolves.toEqual(expected);
    await expect(admin.api.quotas.get({ project: r.project.id.toUpperCase() })).resolves.toEqual(expected);

    const forbidden = /^Only a cloud administrator may see the quotas of another project; your token is for project qg-a$/;
    await expectError(r.api.quotas.get({ project: 'qg-b' }), 'FORBIDDEN', forbidden);
    // A project that does not exist is refused the same way, so names cannot be probed.
    await expectError(r.api.quotas.get({ project: 'qg-nowhere' }), 'FORBIDDEN', forbidden);
    await expectError(admin.api.quotas.get({ project: 'qg-nowhere' }), 'NOT_FOUND', /^Project qg-nowhere not found$/);
    await expectError(r.api.quotas.get({ project: '' }), 'BAD_REQUEST', /project: must name a project/);
  });

  it('administrators set limits, -1 for unlimited and null for the default again; bad limits change nothing', async () => {
    const admin = await adminSession(db.pool);
    const m = await userSession(db.pool, admin.api, { name: 'qs-member', project: 'qs-a', role: 'member' });
    await insertInstance(db.pool, m.project.id, { vcpus: 4, ramMb: 4096 });

    const set = await admin.api.quotas.set({ project: 'qs-a', limits: { cores: 2, ramMb: -1 } });
    // Below current usage is allowed: nothing is taken away, nothing more fits.
    expect(set).toEqual({ project: { id: m.project.id, name: 'qs-a' }, limits: { ...defaults, cores: 2, ramMb: -1 }, usage: { instances: 1, cores: 4, ramMb: 4096, serverGroups: 0 } });
    await expect(m.api.quotas.get()).resolves.toMatchObject({ limits: { cores: 2, ramMb: -1 } });
    const reset = await admin.api.quotas.set({ project: m.project.id, limits: { cores: null, instances: 3 } });
    expect(reset.limits).toEqual({ ...defaults, instances: 3, ramMb: -1 });

    const before = await quotaRows();
    await expectError(admin.api.quotas.set({ project: 'qs-a', limits: {} }), 'BAD_REQUEST', /limits: name at least one of instances, cores, ramMb, keypairs, serverGroups, serverGroupMembers$/);
    await expectError(admin.api.quotas.set({ project: 'qs-a', limits: { cores: -2 } }), 'BAD_REQUEST', /limits.cores: must be at least 0, or -1 for unlimited/);
    await expectError(admin.api.quotas.set({ project: 'qs-a', limits: { cores: 1.5 } }), 'BAD_REQUEST', /limits.cores: must be a whole number/);
    await expectError(admin.api.quotas.set({ project: 'qs-a', limits: { cores: 2 ** 31 } }), 'BAD_REQUEST', /limits.cores: must be at most 2147483647/);
    await expectError(
      admin.api.quotas.set({ project: 'qs-a', limits: { gpus: 1 } as never }),
      'BAD_REQUEST',
      /limits: unknown quota gpus; quotas are instances, cores, ramMb, keypairs, serverGroups, serverGroupMembers;/,
    );
    await expectError(admin.api.quotas.set({ project: 'qs-nowhere', limits: { cores: 1 } }), 'NOT_FOUND', /^Project qs-nowhere not found$/);
    const r = await userSession(db.pool, admin.api, { name: 'qs-reader', project: 'qs-a', role: 'reader' });
    const projectAdmin = await userSession(db.pool, admin.api, { name: 'qs-padmin', project: 'qs-a', role: 'admin' });
    for (const s of [m, r, projectAdmin]) {
      await expectError(s.api.quotas.set({ project: 'qs-a', limits: { cores: 100 } }), 'FORBIDDEN', /^quotas.set needs a cloud administrator/);
    }
    expect(await quotaRows()).toEqual(before);
  });
});

describe('limits.get', () => {
  it('shows the caller’s limits, usage and what remains, -1 where unlimited', async () => {
    const admin = await adminSession(db.pool);
    const r = await userSession(db.pool, admin.api, { name: 'lim-reader', project: 'lim-a', role: 'reader' });
    await admin.api.quotas.set({ project: 'lim-a', limits: { instances: 2, ramMb: -1 } });
    await insertInstance(db.pool, r.project.id, { vcpus: 3, ramMb: 3000 });
    await insertInstance(db.pool, r.project.id, { vcpus: 1, ramMb: 1000 });
    await db.pool.query(`INSERT INTO keypairs (user_id, name, key_type, public_key, fingerprint) VALUES ($1, 'k', 'ssh-ed25519', 'x', 'y')`, [r.user.id]);

    await expect(r.api.limits.get()).resolves.toEqual({
      project: { id: r.project.id, name: 'lim-a' },
      limits: { ...defaults, instances: 2, ramMb: -1 },
      usage: { instances: 2, cores: 4, ramMb: 4000, keypairs: 1, serverGroups: 0 },
      remaining: { instances: 0, cores: defaults.cores - 4, ramMb: -1, keypairs: defaults.keypairs - 1, serverGroups: defaults.serverGroups },
    });
    // The admin's own project is counted separately.
    await expect(admin.api.limits.get()).resolves.toMatchObject({ project: { name: 'admin' }, usage: { instances: 0, keypairs: 0 } });
  });
});

describe('limits.history', () => {
  it('lists every server that held the project’s quota since then, deleted ones included, up to now', async () => {
    const admin = await adminSession(db.pool);
    const r = await userSession(db.pool, admin.api, { name: 'hist-reader', project: 'hist-a', role: 'reader' });
    const other = await userSession(db.pool, admin.api, { name: 'hist-other', project: 'hist-b', role: 'member' });
    const hour = 3600_000;
    const now = Date.now();
    const at = (ms: number) => new Date(now - ms);
    const server = async (vcpus: number, created: number, deleted: number | null) => {
      const id = await insertInstance(db.pool, r.project.id, { vcpus, ramMb: vcpus * 512 }, deleted !== null);
      await db.pool.query('UPDATE instances SET created_at = $2, deleted_at = $3 WHERE id = $1', [id, at(created), deleted === null ? null : at(deleted)]);
      return id;
    };
    const gone = await server(8, 10 * hour, 8 * hour); // deleted before the window
    const alive = await server(2, 9 * hour, null); // from before the window, still there
    const deleted = await server(4, 5 * hour, 1 * hour); // deleted within it
    const fresh = await server(1, 0.5 * hour, null);
    await insertInstance(db.pool, other.project.id, { vcpus: 16, ramMb: 1024 });

    const since = at(6 * hour).toISOString();
    const history = await r.api.limits.history({ since });
    expect(history.since).toBe(since);
    expect(Date.parse(history.until)).toBeGreaterThanOrEqual(now);
    expect(history.truncated).toBe(false);
    expect(history.servers).toEqual([
      { id: alive, vcpus: 2, ramMb: 1024, createdAt: at(9 * hour).toISOString(), deletedAt: null },
      { id: deleted, vcpus: 4, ramMb: 2048, createdAt: at(5 * hour).toISOString(), deletedAt: at(1 * hour).toISOString() },
      { id: fresh, vcpus: 1, ramMb: 512, createdAt: at(0.5 * hour).toISOString(), deletedAt: null },
    ]);
    expect(history.servers.map((s) => s.id)).not.toContain(gone);
    // At most a month back.
    const old = await r.api.limits.history({ since: at(90 * 24 * hour).toISOString() });
    expect(Date.parse(old.until) - Date.parse(old.since)).toBe(31 * 24 * hour);
    await expectError(r.api.limits.history({ since: 'yesterday' }), 'BAD_REQUEST', /since/);
  });
});
