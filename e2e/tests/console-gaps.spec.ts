import { expect, test, type Browser, type Page } from '@playwright/test';
import { adminCredentials, createThrowawayUser, signInToApi, type AsterClient, type Credentials } from '../helpers/api.ts';
import { deleteServer, reachStatus, type Server } from '../helpers/guest.ts';
import { openInstances, serverRow } from '../helpers/instances.ts';
import { createMemberOf, createProject, currentProject, removeProjects, type TestProject } from '../helpers/projects.ts';
import { signedInAs, signIn } from '../helpers/session.ts';

/**
 * The console's project switcher, a lock with its reason, and the members of a shared image, each through the
 * browser against the real stack, with what a second user (or the other project) sees.
 */

// The first request of a page in development compiles it.
const FIRST_VISIT = { timeout: 90_000 };
const stamp = () => Date.now().toString(36);

async function shoot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

/** Opens Images and waits for its table (so the page is live). */
async function openImages(page: Page) {
  await page.goto('/images', FIRST_VISIT);
  await expect(page.getByRole('heading', { level: 1, name: 'Images' })).toBeVisible(FIRST_VISIT);
  await expect(page.getByRole('main').getByRole('table', { name: 'Images' })).toBeVisible(FIRST_VISIT);
}

function imageRow(page: Page, name: string) {
  return page.getByRole('table', { name: 'Images' }).getByRole('row').filter({ hasText: name });
}

async function newPage(browser: Browser, user: Credentials): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signIn(page, user);
  return page;
}

test.describe.serial('a user of two projects', () => {
  let admin: AsterClient;
  let projects: TestProject[] = [];
  let user: Credentials & { id: string };
  let other: (Credentials & { id: string }) | undefined;
  let page: Page;
  const images: Record<string, string> = {};

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(3 * 60_000);
    admin = await signInToApi(adminCredentials());
    projects = [await createProject(admin, 'e2e-gaps-a'), await createProject(admin, 'e2e-gaps-b')];
    user = await createMemberOf(admin, 'e2e-gaps', projects);
    // One private image in each project (metadata only: enough to be listed there and nowhere else).
    for (const p of projects) {
      const client = await signInToApi(user, p.name);
      const image = await client.images.create.mutate({ name: `${p.name}-img`, diskFormat: 'raw' });
      images[p.name] = image.name;
      await client.auth.logout.mutate();
    }
    page = await newPage(browser, user);
  });

  test.afterAll(async () => {
    await page?.context().close();
    if (admin) await removeProjects(admin, [user, ...(other ? [other] : [])].filter(Boolean), projects);
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
    await shoot(page, 'switched-project');

    await page.reload();
    await expect(signedInAs(page, user.username)).toHaveText(`Signed in as ${user.username} (project ${second})`);
    await expect(page.getByRole('combobox', { name: 'Project' })).toHaveValue(second);
    await expect(imageRow(page, images[second]!)).toBeVisible(FIRST_VISIT);
    await expect(imageRow(page, images[first]!)).toHaveCount(0);
  });

  test('shares an image with the other project, which sees it until the member is removed', async ({ browser }) => {
    test.setTimeout(3 * 60_000);
    // The page acts in the second project now: its image is the one shared, with the first project.
    const owner = await currentProject(page);
    const memberProject = projects.find((p) => p.name !== owner)!;
    const shared = images[owner]!;
    other = await createMemberOf(admin, 'e2e-gaps-other', [memberProject]);
    const otherPage = await newPage(browser, other);
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
      await expect(page.getByText(`Image ${shared} is now shared`)).toBeVisible();
      await expect(members).toContainText('No member projects yet');

      // The owner's own project is refused with the API's reason.
      await members.getByLabel('Member project', { exact: true }).fill(owner);
      await members.getByRole('button', { name: 'Add member' }).click();
      await expect(members.getByRole('alert')).toContainText('members are other projects');

      await members.getByLabel('Member project', { exact: true }).fill(memberProject.name);
      await members.getByRole('button', { name: 'Add member' }).click();
      await expect(page.getByText(`Project ${memberProject.name} now shares image ${shared}`)).toBeVisible();
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
      await expect(page.getByText(`Project ${memberProject.name} no longer shares image ${shared}`)).toBeVisible();
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

test.describe.serial('a lock with a reason', () => {
  let admin: AsterClient;
  let member: Credentials;
  let client: AsterClient;
  let server: Server | undefined;
  let page: Page;
  const reason = `nightly backup ${stamp()}`;

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(4 * 60_000);
    admin = await signInToApi(adminCredentials());
    member = await createThrowawayUser(admin);
    client = await signInToApi(member);
    // ACTIVE is all a lock needs: the guest need not have finished booting.
    const image = (await client.images.list.query({})).find((i) => i.name === 'aster-tiny' && i.status === 'active')!;
    const tiny = (await client.flavors.list.query({})).find((f) => f.name === 'm1.tiny')!;
    const [created] = await client.servers.create.mutate({ name: `e2e-gaps-lock-${stamp()}`, flavorId: tiny.id, imageId: image.id });
    server = await reachStatus(client, created!.id, 'ACTIVE');
    page = await newPage(browser, member);
  });

  test.afterAll(async () => {
    test.setTimeout(3 * 60_000);
    await page?.context().close();
    if (server) {
      await client.servers.unlock.mutate({ id: server.id }).catch(() => undefined);
      await deleteServer(client, server.id);
    }
    await client?.auth.logout.mutate().catch(() => undefined);
    await admin?.auth.logout.mutate().catch(() => undefined);
  });

  test('a member locks with a reason; the overview says why, and a locked server’s actions are disabled', async () => {
    const s = server!;
    await page.goto(`/servers/${s.id}`, FIRST_VISIT);
    await expect(page.getByTestId('server-status')).toHaveText('ACTIVE', FIRST_VISIT);
    await expect(page.getByTestId('server-lock')).toHaveText('No');

    await page.getByRole('button', { name: 'Actions', exact: true }).click();
    await page.getByRole('menu').getByRole('menuitem', { name: 'Lock…' }).click();
    const dialog = page.getByRole('dialog', { name: `Lock ${s.name}` });
    const field = dialog.getByRole('textbox', { name: 'Reason' });
    // Too long: said at once, and Lock waits.
    await field.fill('x'.repeat(256));
    await expect(dialog.getByText('Reason must be at most 255 characters (now 256)')).toBeVisible();
    await expect(field).toHaveAttribute('aria-invalid', 'true');
    await expect(dialog.getByRole('button', { name: 'Lock' })).toBeDisabled();
    await shoot(page, 'lock-reason-too-long');
    await field.fill(reason);
    await expect(dialog.getByRole('button', { name: 'Lock' })).toBeEnabled();
    await dialog.getByRole('button', { name: 'Lock' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByText(`${s.name} is locked`)).toBeVisible();
    await expect(page.getByTestId('server-lock')).toHaveText(`Locked by owner: ${reason}`);
    expect((await client.servers.get.query({ id: s.id })).lockedReason).toBe(reason);
    await shoot(page, 'locked-overview');

    // The menu: what a lock forbids is disabled, with the reason; Unlock is offered.
    await page.getByRole('button', { name: 'Actions', exact: true }).click();
    const menu = page.getByRole('menu');
    await expect(menu.getByRole('menuitem', { name: 'Reboot', exact: true })).toBeDisabled();
    await expect(menu.getByRole('menuitem', { name: 'Reboot', exact: true })).toHaveAttribute('title', `Server ${s.name} is locked; unlock it first`);
    await expect(menu.getByRole('menuitem', { name: 'Unlock' })).toBeEnabled();
    await page.keyboard.press('Escape');

    // The list's row actions too, with the reason in their tooltip.
    await openInstances(page);
    const row = serverRow(page, s.name);
    for (const action of ['Stop', 'Reboot', 'Delete']) {
      const button = row.getByRole('button', { name: `${action} ${s.name}` });
      await expect(button).toBeDisabled();
      await expect(button).toHaveAttribute('title', `Server ${s.name} is locked: ${reason}`);
    }
    await shoot(page, 'locked-row');
  });

  test('unlocking clears the lock and its reason', async () => {
    const s = server!;
    await page.goto(`/servers/${s.id}`, FIRST_VISIT);
    await page.getByRole('button', { name: 'Actions', exact: true }).click();
    await page.getByRole('menu').getByRole('menuitem', { name: 'Unlock' }).click();
    await expect(page.getByText(`${s.name} is unlocked`)).toBeVisible();
    await expect(page.getByTestId('server-lock')).toHaveText('No');
    const after = await client.servers.get.query({ id: s.id });
    expect([after.locked, after.lockedReason]).toEqual([false, null]);
    await openInstances(page);
    await expect(serverRow(page, s.name).getByRole('button', { name: `Reboot ${s.name}` })).toBeEnabled();
    await shoot(page, 'unlocked-row');
  });
});
