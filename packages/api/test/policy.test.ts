import { randomUUID } from 'node:crypto';
import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';
import { appRouter, policy, refusal, ruleFor, type Auth, type Rule } from '../src/index.ts';
import { adminSession, caller, counts, expectError, userSession } from './harness.ts';

const db = useTestDatabase();

describe('the policy table', () => {
  // tRPC v11 keeps every procedure of a router, nested ones included, in a flat map keyed by dotted path.
  const procedures = Object.keys(appRouter._def.procedures).sort();

  it('has an entry for every procedure and names no procedure that does not exist', () => {
    expect(procedures.length).toBeGreaterThan(0);
    expect(procedures).toContain('users.setPassword');
    expect(procedures.filter((path) => ruleFor(path) === undefined)).toEqual([]);
    expect(Object.keys(policy).filter((path) => !procedures.includes(path))).toEqual([]);
    expect(Object.keys(policy).sort()).toEqual(procedures);
  });

  it('has no rule for an unknown path, so such a call is refused', () => {
    expect(ruleFor('users.nope')).toBeUndefined();
    expect(ruleFor('')).toBeUndefined();
  });
});

describe('refusal(rule, auth)', () => {
  type Caller = Pick<Auth, 'roles' | 'isAdmin' | 'project'>;
  const admin = { id: randomUUID(), name: 'admin' };
  const web = { id: randomUUID(), name: 'web' };
  const callers: Record<string, Caller> = {
    'cloud admin': { roles: ['admin'], isAdmin: true, project: admin },
    'project admin': { roles: ['admin'], isAdmin: false, project: web },
    member: { roles: ['member'], isAdmin: false, project: web },
    reader: { roles: ['reader'], isAdmin: false, project: web },
  };
  const cloud = 'a cloud administrator (role admin on the admin project)';
  // null: allowed; a string: what the refusal says is needed.
  const expected: Record<Rule, Record<string, string | null>> = {
    public: { 'cloud admin': null, 'project admin': null, member: null, reader: null },
    authenticated: { 'cloud admin': null, 'project admin': null, member: null, reader: null },
    reader: { 'cloud admin': null, 'project admin': null, member: null, reader: null },
    member: { 'cloud admin': null, 'project admin': null, member: null, reader: 'role member on project web' },
    admin: { 'cloud admin': null, 'project admin': cloud, member: cloud, reader: cloud },
  };

  for (const [rule, row] of Object.entries(expected) as [Rule, Record<string, string | null>][]) {
    for (const [who, answer] of Object.entries(row)) {
      it(`${rule} × ${who} → ${answer === null ? 'allowed' : 'refused'}`, () => {
        expect(refusal(rule, callers[who]!)).toBe(answer);
      });
    }
  }

  it('does not make a project admin of another project a cloud administrator', () => {
    expect(refusal('admin', callers['project admin']!)).toBe(cloud);
    // Only isAdmin (role admin on the admin project, worked out when the token is resolved) counts.
    expect(refusal('admin', { roles: ['admin'], isAdmin: false, project: admin })).toBe(cloud);
  });

  it('lets implied roles through: several roles held, the highest counts', () => {
    expect(refusal('member', { roles: ['reader', 'member'], isAdmin: false, project: web })).toBeNull();
    expect(refusal('member', { roles: [], isAdmin: false, project: web })).toBe('role member on project web');
  });
});

describe('policy enforcement', () => {
  const adminOnly = ['projects.create', 'projects.delete', 'users.list', 'users.create', 'users.update', 'users.delete', 'roleAssignments.list', 'roleAssignments.grant', 'roleAssignments.revoke', 'services.list', 'services.disable', 'services.enable',
    'flavors.create', 'flavors.delete', 'flavors.setExtraSpecs', 'flavors.listAccess', 'flavors.addAccess', 'flavors.removeAccess',
    'quotas.set', 'hypervisors.list', 'hypervisors.get', 'hypervisors.candidates', 'services.forceDown',
    'aggregates.list', 'aggregates.get', 'aggregates.create', 'aggregates.update', 'aggregates.delete', 'aggregates.addHost', 'aggregates.removeHost',
    'aggregates.setMetadata'];

  it('marks exactly these procedures admin-only', () => {
    const table = Object.entries(policy).filter(([, rule]) => rule === 'admin').map(([path]) => path);
    expect(table.sort()).toEqual([...adminOnly].sort());
  });

  it('refuses every admin-only procedure to a member, a reader and a project admin, naming the procedure and the role needed', async () => {
    const root = await adminSession(db.pool);
    const member = await userSession(db.pool, root.api, { name: 'wendy', project: 'web', role: 'member' });
    const reader = await userSession(db.pool, root.api, { name: 'rex', project: 'web', role: 'reader' });
    const outsider = await userSession(db.pool, root.api, { name: 'olly', project: 'ops', role: 'admin' });
    await expect(outsider.api.auth.whoami()).resolves.toMatchObject({ roles: ['admin'], isAdmin: false });

    type Api = typeof member.api;
    const calls: Record<string, (api: Api) => Promise<unknown>> = {
      'projects.create': (api) => api.projects.create({ name: 'sneaky' }),
      'projects.delete': (api) => api.projects.delete({ id: member.project.id }),
      'users.list': (api) => api.users.list(),
      'users.create': (api) => api.users.create({ name: 'sneaky', password: 'sneaky-password', project: 'admin', role: 'admin' }),
      'users.update': (api) => api.users.update({ id: reader.user.id, enabled: false }),
      'users.delete': (api) => api.users.delete({ id: reader.user.id }),
      'roleAssignments.list': (api) => api.roleAssignments.list(),
      'roleAssignments.grant': (api) => api.roleAssignments.grant({ userId: member.user.id, project: 'admin', role: 'admin' }),
      'roleAssignments.revoke': (api) => api.roleAssignments.revoke({ userId: reader.user.id, project: 'web', role: 'reader' }),
      'services.list': (api) => api.services.list(),
      'services.disable': (api) => api.services.disable({ id: member.user.id, reason: 'sneaky' }),
      'services.enable': (api) => api.services.enable({ id: member.user.id }),
      'flavors.create': (api) => api.flavors.create({ name: 'sneaky', vcpus: 1, ramMb: 64, diskGb: 1 }),
      'flavors.delete': (api) => api.flavors.delete({ id: '00000000-0000-4000-8000-000000000000' }),
      'flavors.setExtraSpecs': (api) => api.flavors.setExtraSpecs({ id: '00000000-0000-4000-8000-000000000000', extraSpecs: {} }),
      'flavors.listAccess': (api) => api.flavors.listAccess({ id: '00000000-0000-4000-8000-000000000000' }),
      'flavors.addAccess': (api) => api.flavors.addAccess({ id: '00000000-0000-4000-8000-000000000000', project: 'web' }),
      'flavors.removeAccess': (api) => api.flavors.removeAccess({ id: '00000000-0000-4000-8000-000000000000', project: 'web' }),
      'quotas.set': (api) => api.quotas.set({ project: 'web', limits: { instances: 1000 } }),
      'hypervisors.list': (api) => api.hypervisors.list(),
      'hypervisors.get': (api) => api.hypervisors.get({ host: 'nowhere' }),
      'hypervisors.candidates': (api) => api.hypervisors.candidates({ flavorId: '00000000-0000-4000-8000-000000000000' }),
      'services.forceDown': (api) => api.services.forceDown({ id: member.user.id, forcedDown: true }),
      'aggregates.list': (api) => api.aggregates.list(),
      'aggregates.get': (api) => api.aggregates.get({ id: '00000000-0000-4000-8000-000000000000' }),
      'aggregates.create': (api) => api.aggregates.create({ name: 'sneaky', availabilityZone: 'az-sneaky' }),
      'aggregates.update': (api) => api.aggregates.update({ id: '00000000-0000-4000-8000-000000000000', name: 'sneaky' }),
      'aggregates.delete': (api) => api.aggregates.delete({ id: '00000000-0000-4000-8000-000000000000' }),
      'aggregates.addHost': (api) => api.aggregates.addHost({ id: '00000000-0000-4000-8000-000000000000', host: 'nowhere' }),
      'aggregates.removeHost': (api) => api.aggregates.removeHost({ id: '00000000-0000-4000-8000-000000000000', host: 'nowhere' }),
      'aggregates.setMetadata': (api) => api.aggregates.setMetadata({ id: '00000000-0000-4000-8000-000000000000', metadata: { ssd: 'true' } }),
    };
    expect(Object.keys(calls).sort()).toEqual([...adminOnly].sort());

    const before = await counts(db.pool);
    for (const [who, session, holds] of [
      ['member', member, 'member on project web'],
      ['reader', reader, 'reader on project web'],
      ['project admin of ops', outsider, 'admin on project ops'],
    ] as const) {
      for (const [path, call] of Object.entries(calls)) {
        const error = await expectError(call(session.api), 'FORBIDDEN').catch((e: unknown) => {
          throw new Error(`${who} calling ${path}: ${String(e)}`);
        });
        expect(error.message, `${who} calling ${path}`).toBe(
          `${path} needs a cloud administrator (role admin on the admin project); you hold ${holds}`,
        );
      }
    }
    expect(await counts(db.pool)).toEqual(before);
    await expect(member.api.auth.whoami()).resolves.toMatchObject({ roles: ['member'], isAdmin: false });
  });

  it('refuses admin-only procedures to a caller with no token before anything else', async () => {
    await expectError(caller(db.pool).users.list(), 'UNAUTHORIZED', /Sign in first/);
  });
});

describe('across projects', () => {
  it('keeps a user of project A from seeing project B or revoking a credential of a user of B', async () => {
    const root = await adminSession(db.pool);
    const alpha = await userSession(db.pool, root.api, { name: 'alpha-admin', project: 'proj-a', role: 'admin' });
    const beta = await userSession(db.pool, root.api, { name: 'beta-user', project: 'proj-b', role: 'member' });

    const seen = (await alpha.api.projects.list()).map((p) => p.name);
    expect(seen).toEqual(['proj-a']);
    expect((await beta.api.projects.list()).map((p) => p.name)).toEqual(['proj-b']);

    const betaCred = await beta.api.credentials.create({ name: 'deploy' });
    expect((await alpha.api.credentials.list()).map((c) => c.id)).not.toContain(betaCred.id);

    const unknown = randomUUID();
    const before = await counts(db.pool);
    const real = await expectError(alpha.api.credentials.revoke({ id: betaCred.id }), 'NOT_FOUND');
    const made = await expectError(alpha.api.credentials.revoke({ id: unknown }), 'NOT_FOUND');
    expect(real.message).toBe(`Application credential ${betaCred.id} not found`);
    expect(real.message.replace(betaCred.id, '<id>')).toBe(made.message.replace(unknown, '<id>'));
    expect(await counts(db.pool)).toEqual(before);

    // Still usable by its owner.
    const login = await caller(db.pool).auth.login({ credentialId: betaCred.id, secret: betaCred.secret });
    expect(login).toMatchObject({ user: { name: 'beta-user' }, project: { name: 'proj-b' } });
    const [listed] = await beta.api.credentials.list();
    expect(listed).toMatchObject({ id: betaCred.id, revokedAt: null });
  });
});
