import { expect, test, type Page } from '@playwright/test';
import { adminCredentials, signInToApi, type AsterClient, type Credentials } from '../helpers/api.ts';
import { imageRow, openImages } from '../helpers/images.ts';
import { createMemberOf, createProject, currentProject, removeProjects, type TestProject } from '../helpers/projects.ts';
import { newSignedInPage } from '../helpers/session.ts';
import { notification } from '../helpers/toasts.ts';

/**
 * The members of a shared image, through the browser against the real stack: the owner shares it with another
 * project, whose user sees it (and may not change it) until the member is removed.
 */

// The first request of a page in development compiles it.
const FIRST_VISIT = { timeout: 90_000 };

async function shoot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

test.describe.serial('an image shared with another project', () => {
  let admin: AsterClient;
  let projects: TestProject[] = [];
  let user: Credentials & { id: string };
  let other: (Credentials & { id: string }) | undefined;
  let page: Page;
  const images: Record<string, string> = {};

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(3 * 60_000);
    admin = await signInToApi(adminCredentials());
    projects = [await createProject(admin, 'e2e-members-a'), await createProject(admin, 'e2e-members-b')];
    // The owner's user is in the first project only; the other project's user in the second.
    user = await createMemberOf(admin, 'e2e-members', [projects[0]!]);
    other = await createMemberOf(admin, 'e2e-members-other', [projects[1]!]);
    // One private image in each project (metadata only: enough to be listed there and nowhere else).
    for (const [p, owner] of [
      [projects[0]!, user],
      [projects[1]!, other],
    ] as const) {
      const client = await signInToApi(owner, p.name);
      const image = await client.images.create.mutate({ name: `${p.name}-img`, diskFormat: 'raw' });
      images[p.name] = image.name;
      await client.auth.logout.mutate();
    }
    page = await newSignedInPage(browser, user);
  });

  test.afterAll(async () => {
    await page?.context().close();
    if (admin && user) await removeProjects(admin, [user, ...(other ? [other] : [])], projects);
    await admin?.auth.logout.mutate().catch(() => undefined);
  });

  test('shares an image with the other project, which sees it until the member is removed', async ({ browser }) => {
    test.setTimeout(3 * 60_000);
    const owner = await currentProject(page);
    expect(owner).toBe(projects[0]!.name);
    const memberProject = projects.find((p) => p.name !== owner)!;
    const shared = images[owner]!;
    const otherPage = await newSignedInPage(browser, other!);
    try {
      await openImages(otherPage);
      await expect(imageRow(otherPage, images[memberProject.name]!)).toBeVisible();
      await expect(imageRow(otherPage, shared)).toHaveCount(0);

      // A private image has no members to manage.
      await openImages(page);
      const row = imageRow(page, shared);
      await row.getByRole('button', { name: `Details of ${shared}` }).click();
      const members = page.getByRole('region', { name: `Members of ${shared}` });
      await expect(members).toHaveCount(0);
      await page.getByLabel(`Visibility of ${shared}`).selectOption('shared');
      await expect(notification(page, `Image ${shared} is now shared`)).toBeVisible();
      await expect(members).toContainText('No member projects yet');

      // The owner's own project is refused with the API's reason.
      await members.getByLabel('Member project', { exact: true }).fill(owner);
      await members.getByRole('button', { name: 'Add member' }).click();
      await expect(members.getByRole('alert')).toContainText('members are other projects');

      await members.getByLabel('Member project', { exact: true }).fill(memberProject.name);
      await members.getByRole('button', { name: 'Add member' }).click();
      await expect(notification(page, `Project ${memberProject.name} now shares image ${shared}`)).toBeVisible();
      await expect(members.getByRole('alert')).toHaveCount(0);
      const list = members.getByRole('list', { name: `Member projects of ${shared}` });
      await expect(list.getByRole('listitem')).toHaveText(new RegExp(`^${memberProject.name}`));
      await shoot(page, 'image-members');
      // Listed by the API, so still there after a reload.
      await openImages(page);
      await imageRow(page, shared).getByRole('button', { name: `Details of ${shared}` }).click();
      await expect(list.getByRole('listitem')).toHaveText(new RegExp(`^${memberProject.name}`));

      // Adding it again is a conflict, said as the API says it.
      await members.getByLabel('Member project', { exact: true }).fill(memberProject.name);
      await members.getByRole('button', { name: 'Add member' }).click();
      await expect(members.getByRole('alert')).toContainText(`Project ${memberProject.name} is already a member of image ${shared}`);

      await otherPage.reload();
      await expect(imageRow(otherPage, shared)).toContainText('shared', FIRST_VISIT);
      // The member may look, but not change or delete it.
      await expect(imageRow(otherPage, shared).getByRole('button', { name: `Delete ${shared}` })).toBeDisabled();
      await shoot(otherPage, 'image-shared-with-member');

      await members.getByRole('button', { name: `Remove ${memberProject.name} from ${shared}` }).click();
      await expect(notification(page, `Project ${memberProject.name} no longer shares image ${shared}`)).toBeVisible();
      await expect(list).toHaveCount(0);
      await expect(members).toContainText('No member projects yet');
      await otherPage.reload();
      await expect(imageRow(otherPage, images[memberProject.name]!)).toBeVisible(FIRST_VISIT);
      await expect(imageRow(otherPage, shared)).toHaveCount(0);
      await shoot(page, 'image-member-removed');
    } finally {
      await otherPage.context().close();
    }
  });
});
