import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import type { Pool } from '@aster/db';
import type { Jobs } from '@aster/jobs';
import { createLogger } from '@aster/log';
import { expect } from 'vitest';
import { createCaller, createContext, ensureAdmin, type ApiConfig } from '../src/index.ts';

export const ADMIN_PASSWORD = 'correct horse battery staple';
export const silentLog = createLogger('api-test', { write: () => {} });

/** A clock the test moves by hand. */
export function clock(start = new Date('2026-01-01T00:00:00Z')) {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance(seconds: number) {
      now += seconds * 1000;
    },
  };
}

export type Clock = ReturnType<typeof clock>;

export function caller(db: Pool, options: { token?: string | null; clock?: Clock; config?: Partial<ApiConfig>; jobs?: Jobs | null } = {}) {
  return createCaller(
    createContext({
      db,
      token: options.token ?? null,
      log: silentLog,
      ...(options.clock ? { now: options.clock.now } : {}),
      ...(options.config ? { config: options.config } : {}),
      ...(options.jobs ? { jobs: options.jobs } : {}),
    }),
  );
}

/** The first start's admin, signed in. */
export async function adminSession(db: Pool, c?: Clock) {
  await ensureAdmin(db, { password: ADMIN_PASSWORD });
  const login = await caller(db, { clock: c }).auth.login({ username: 'admin', password: ADMIN_PASSWORD });
  return { ...login, api: caller(db, { token: login.token, clock: c }) };
}

/** A new user with one role on one project (created if missing), signed in. */
export async function userSession(
  db: Pool,
  admin: ReturnType<typeof caller>,
  spec: { name: string; project: string; role: 'admin' | 'member' | 'reader'; password?: string },
  c?: Clock,
) {
  const password = spec.password ?? `${spec.name}-password`;
  const projects = await admin.projects.list();
  const project = projects.find((p) => p.name === spec.project) ?? (await admin.projects.create({ name: spec.project }));
  const user = await admin.users.create({ name: spec.name, password, project: project.name, role: spec.role });
  const login = await caller(db, { clock: c }).auth.login({ username: spec.name, password });
  return { ...login, user, project, password, api: caller(db, { token: login.token, clock: c }) };
}

/** Expects a tRPC error with this code and a message matching `message`. */
export async function expectError(promise: Promise<unknown>, code: TRPCError['code'], message?: RegExp | string) {
  const error = await promise.then(
    () => {
      throw new Error(`expected ${code}, but the call succeeded`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCError);
  const t = error as TRPCError;
  expect({ code: t.code, message: t.message }).toEqual({ code, message: message === undefined ? t.message : expect.stringMatching(message) });
  return t;
}

/** Row counts of the identity tables, to prove that a refused call wrote nothing. */
export async function counts(db: Pool) {
  const { rows } = await db.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM projects) AS projects, (SELECT count(*) FROM users) AS users,
            (SELECT count(*) FROM role_assignments) AS roles, (SELECT count(*) FROM tokens) AS tokens,
            (SELECT count(*) FROM app_credentials) AS credentials,
            (SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL) AS revoked`,
  );
  return rows[0]!;
}

/** A bare instance row (building, no host), for tests of what hangs off instances: ports, quotas. */
export async function insertInstance(pool: Pool, projectId: string, name: string): Promise<string> {
  const id = randomUUID();
  await pool.query(
    `INSERT INTO instances (id, project_id, name, hostname, flavor_id, flavor, image_id, image, vm_state, reservation_id)
     VALUES ($1, $2, $3, $3, $4, '{}', $5, '{}', 'building', $6)`,
    [id, projectId, name, randomUUID(), randomUUID(), `r-${name}`],
  );
  return id;
}
