import { test as base } from '@playwright/test';
import {
  type AsterClient,
  type Credentials,
  ADMIN,
  adminCredentials,
  createThrowawayUser,
  signInToApi,
} from './api.ts';

type TestFixtures = {
  /** The bootstrap admin's user name and password. */
  admin: Credentials;
  /** A new member of project admin, made for this test only. */
  throwawayUser: Credentials;
};

type WorkerFixtures = {
  /** API client signed in as admin, shared by the tests of one worker. */
  adminApi: AsterClient;
};

export const test = base.extend<TestFixtures, WorkerFixtures>({
  adminApi: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads fixture dependencies from this pattern
    async ({}, use) => {
      const client = await signInToApi(adminCredentials(), ADMIN.project);
      await use(client);
      await client.auth.logout.mutate();
    },
    { scope: 'worker' },
  ],
  // eslint-disable-next-line no-empty-pattern -- as above
  admin: async ({}, use) => {
    await use(adminCredentials());
  },
  throwawayUser: async ({ adminApi }, use) => {
    await use(await createThrowawayUser(adminApi));
  },
});

export { expect } from '@playwright/test';
