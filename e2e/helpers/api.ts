import { randomUUID } from 'node:crypto';
import { createAsterClient, login } from '@aster/client';
import { adminPassword, apiUrl } from '../env.ts';

export type AsterClient = ReturnType<typeof createAsterClient>;
export type Credentials = { username: string; password: string };

export const ADMIN = { username: 'admin', project: 'admin' } as const;

export function adminCredentials(): Credentials {
  return { username: ADMIN.username, password: adminPassword() };
}

/** An API client signed in as `admin`, for arranging what a test needs. */
export async function signInToApi(credentials: Credentials, project?: string): Promise<AsterClient> {
  const url = apiUrl();
  const { token } = await login({ url, ...credentials, ...(project ? { project } : {}) });
  return createAsterClient({ url, token });
}

/** A client for an existing token, e.g. one read from the browser's session cookie. */
export function clientForToken(token: string): AsterClient {
  return createAsterClient({ url: apiUrl(), token });
}

/**
 * A fresh member of project `admin`. Tests that sign in with a wrong password use one of these,
 * so the failed-login throttle never locks out the admin that the other tests sign in as.
 */
export async function createThrowawayUser(admin: AsterClient): Promise<Credentials> {
  const username = `e2e-${Date.now().toString(36)}-${randomUUID().slice(0, 6)}`;
  const password = randomUUID();
  await admin.users.create.mutate({ name: username, password, project: ADMIN.project, role: 'member' });
  return { username, password };
}
