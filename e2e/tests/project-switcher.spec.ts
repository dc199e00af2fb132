import { expect, test, type Page } from '@playwright/test';
import { adminCredentials, signInToApi, type AsterClient, type Credentials } from '../helpers/api.ts';
import { imageRow, openImages } from '../helpers/images.ts';
import { createMemberOf, createProject, currentProject, removeProjects, type TestProject } from '../helpers/projects.ts';
import { newSignedInPage, signedInAs } from '../helpers/session.ts';

/** The header's project switcher, for a user of two projects: what each project shows, through the real stack. */

// The first request of a page in development compiles it.
const FIRST_VISIT = { timeout: 90_000 };

test.describe.serial('a user of two projects', () => {
  let admin: AsterClient;
  let projects: TestProject[] = [];
  let user: Credentials & { id: string };
  let page: Page;
  const images: Record<string, string> = {};

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(3 * 60_000);
    admin = await signInToApi(adminCredentials());
    projects = [await createProject(admin, 'e2e-switch-a'), await createProject(admin, 'e2e-switch-b')];
    user = await createMemberOf(admin, 'e2e-switch', projects);
    // One private image in each project (metadata only: enough to be listed there and nowhere else).
    for (const p of projects) {
      const client = await signInToApi(user, p.name);
      const image = await client.images.create.mutate({ name: `${p.name}-img`, diskFormat: 'raw' });
      images[p.name] = image.name;
      await client.auth.logout.mutate();
    }
    page = await newSignedInPage(browser, user);
  });

  test.afterAll(async () => {
    await page?.context().close();
    if (admin && user) await removeProjects(admin, [user], projects);
    await admin?.auth.logout.mutate().catch(() => undefined);
  });

  test('switches project in the header, sees that project’s images, and stays there after a reload', async () => {
    const first = await currentProject(page);
    const second = projects.map((p) => p.name).find((n) => n !== first)!;
    expect(projects.map((p) => p.name)).toContain(first);
    await openImages(page);
    await expect(imageRow(page, images[first]!)).toBeVisible();
    await expect(imageRow(page, images[second]!)).toHaveCount(0);

    const switcher = page.getByRole('combobox', { name: 'Project' });
    await expect(switcher).toHaveValue(first);
    await switcher.selectOption(second);
    await expect(signedInAs(page, user.username)).toHaveText(`Signed in as ${user.username} (project ${second})`, FIRST_VISIT);
    await openImages(page);
    await expect(imageRow(page, images[second]!)).toBeVisible();
    await expect(imageRow(page, images[first]!)).toHaveCount(0);
    await page.screenshot({ path: test.info().outputPath('switched-project.png'), fullPage: true });

    await page.reload();
    await expect(signedInAs(page, user.username)).toHaveText(`Signed in as ${user.username} (project ${second})`);
    await expect(page.getByRole('combobox', { name: 'Project' })).toHaveValue(second);
    await expect(imageRow(page, images[second]!)).toBeVisible(FIRST_VISIT);
    await expect(imageRow(page, images[first]!)).toHaveCount(0);
  });
});
