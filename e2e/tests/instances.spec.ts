import { expect, test, type Page } from '@playwright/test';
import { adminCredentials, createThrowawayUser, signInToApi, type AsterClient, type Credentials } from '../helpers/api.ts';
import { deleteServer } from '../helpers/guest.ts';
import { createReader, launchThroughDialog, openInstances, rowStatus, serverRow } from '../helpers/instances.ts';
import { createMemberOf, createProject, removeProjects, type TestProject } from '../helpers/projects.ts';
import { signIn } from '../helpers/session.ts';
import { notification, notifications, statusWhenToasted } from '../helpers/toasts.ts';

/**
 * The Instances page with one real guest: launched through the dialog by a member, seen BUILD → ACTIVE,
 * stopped and deleted from its row, all live (the page is never reloaded), each action's toast coming with
 * its outcome, not with the API's acceptance; and a reader who may only look.
 */

test.describe.serial('the Instances page', () => {
  let admin: AsterClient;
  const name = `e2e-inst-${Date.now().toString(36)}`;

  test.beforeAll(async () => {
    admin = await signInToApi(adminCredentials());
  });

  test.afterAll(async () => {
    test.setTimeout(3 * 60_000);
    // Whatever the test left behind, by name.
    const { servers } = await admin.servers.list.query({ name, allProjects: true });
    for (const s of servers) await deleteServer(admin, s.id);
    await admin.auth.logout.mutate().catch(() => undefined);
  });

  test('a member launches, stops and deletes a server, seeing each change live', async ({ page }) => {
    test.setTimeout(5 * 60_000);
    await signIn(page, await createThrowawayUser(admin));
    await openInstances(page);
    const url = page.url();
    await page.screenshot({ path: test.info().outputPath('instances-empty.png'), fullPage: true });

    const running = await statusWhenToasted(page, `${name} is running`, { row: name });
    await launchThroughDialog(page, name);
    await expect(notification(page, `Launching ${name}`)).toBeVisible();
    const row = serverRow(page, name);
    // The focus goes to the new server's row, not to the page's body.
    await expect(row.getByRole('link', { name, exact: true })).toBeFocused();
    await expect(rowStatus(row)).toHaveText('BUILD', { timeout: 10_000 });
    await expect(row.getByRole('list', { name: 'Build steps' })).toBeVisible();
    // Accepted is not launched: nothing says it runs while it builds.
    await expect(notifications(page)).not.toContainText(`${name} is running`);
    await page.screenshot({ path: test.info().outputPath('instances-building.png'), fullPage: true });
    await expect(rowStatus(row)).toHaveText('ACTIVE', { timeout: 150_000 });
    await expect(notification(page, `${name} is running`)).toBeVisible({ timeout: 30_000 });
    expect(await running()).toBe('ACTIVE');
    await expect(row.getByRole('button', { name: `Start ${name}` })).toBeDisabled();
    await expect(row.getByRole('button', { name: `Start ${name}` })).toHaveAttribute('title', /Cannot start a server in status ACTIVE/);
    await page.screenshot({ path: test.info().outputPath('instances-active.png'), fullPage: true });

    // The stop's toast says it is stopped only once the row shows SHUTOFF, however soon the API accepted it.
    const stopped = await statusWhenToasted(page, `${name} is stopped`, { row: name });
    await row.getByRole('button', { name: `Stop ${name}` }).click();
    await expect(notification(page, `Stopping ${name}…`)).toBeVisible();
    await expect(rowStatus(row)).toHaveText('SHUTOFF', { timeout: 120_000 });
    await expect(notification(page, `${name} is stopped`)).toBeVisible({ timeout: 30_000 });
    expect(await stopped()).toBe('SHUTOFF');
    await expect(row.getByRole('button', { name: `Start ${name}` })).toBeEnabled();

    // Bulk: the confirmation names every selected server; cancelled here, the row's own Delete follows.
    // (Only this row is selected: other servers of the shared project are not this test's.)
    await row.getByRole('checkbox', { name: `Select ${name}` }).check();
    await expect(page.getByText('1 selected')).toBeVisible();
    await page.getByRole('button', { name: 'Delete selected' }).click();
    const bulk = page.getByRole('dialog', { name: /^Delete / });
    await expect(bulk.getByRole('listitem').filter({ hasText: name })).toBeVisible();
    await bulk.getByRole('button', { name: 'Cancel' }).click();
    await expect(bulk).toBeHidden();
    // Back on what opened the dialog.
    await expect(page.getByRole('button', { name: 'Delete selected' })).toBeFocused();
    await expect(rowStatus(row)).toHaveText('SHUTOFF');

    await row.getByRole('button', { name: `Delete ${name}` }).click();
    const confirm = page.getByRole('dialog', { name: `Delete ${name}?` });
    await expect(confirm).toContainText(name);
    await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
    // The row goes; the focus waits on the list's heading.
    await expect(page.getByRole('heading', { level: 1, name: 'Instances' })).toBeFocused();
    await expect(row).toHaveCount(0, { timeout: 120_000 });
    await expect(notification(page, `${name} is deleted`)).toBeVisible({ timeout: 30_000 });
    expect(page.url()).toBe(url);
  });

  test('a reader sees Launch instance disabled, with the reason', async ({ page }) => {
    test.setTimeout(2 * 60_000);
    await signIn(page, await createReader(admin));
    await openInstances(page);
    await expectReadOnly(page);
    await page.screenshot({ path: test.info().outputPath('instances-reader.png'), fullPage: true });
  });

  test('an administrator may list every project, and shortcuts open the dialog and the filter', async ({ page }) => {
    test.setTimeout(2 * 60_000);
    await page.setViewportSize({ width: 390, height: 844 });
    await signIn(page, adminCredentials());
    await openInstances(page);
    await page.getByLabel('All projects').check();
    await expect(page.getByRole('columnheader', { name: 'Project' })).toBeVisible();
    await page.screenshot({ path: test.info().outputPath('instances-phone-all-projects.png'), fullPage: true });
    // Only the statuses a server of Aster can have (it has no soft delete and no shelving).
    await expect(page.getByRole('combobox', { name: 'Status' }).getByRole('option')).toHaveText([
      'Any', 'BUILD', 'ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED', 'REBOOT', 'HARD_REBOOT', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE', 'REVERT_RESIZE', 'RESCUE', 'ERROR',
    ]);
    const nameHeader = page.getByRole('columnheader', { name: 'Name' });
    await expect(nameHeader).toHaveAttribute('aria-sort', 'none');
    await nameHeader.getByRole('button').click();
    await expect(nameHeader).toHaveAttribute('aria-sort', 'ascending');
    await nameHeader.getByRole('button').click();
    await expect(nameHeader).toHaveAttribute('aria-sort', 'descending');
    await expect(page.getByRole('columnheader', { name: 'Created' })).toHaveAttribute('aria-sort', 'none');

    await page.keyboard.press('/');
    const filter = page.getByRole('searchbox', { name: 'Filter by name' });
    await expect(filter).toBeFocused();
    await filter.fill(`no-such-server-${Date.now()}`);
    await expect(page.getByText('No servers match these filters.')).toBeVisible();
    await filter.fill('');
    await page.getByRole('heading', { name: 'Instances' }).click();
    await page.keyboard.press('n');
    const dialog = page.getByRole('dialog', { name: 'Launch instance' });
    await expect(dialog).toBeVisible();
    await dialog.getByRole('button', { name: 'Launch', exact: true }).click();
    await expect(dialog.getByText('Name is required')).toBeVisible();
    await dialog.getByLabel('Count').fill('11');
    await dialog.getByRole('button', { name: 'Launch', exact: true }).click();
    await expect(dialog.getByText('Count must be a whole number from 1 to 10')).toBeVisible();
    await expect(dialog.getByLabel('Network')).toHaveValue(/.+/);
    await page.screenshot({ path: test.info().outputPath('instances-phone-launch.png'), fullPage: true });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
  });
});

test.describe('the Launch dialog on a 1280×900 screen', () => {
  let admin: AsterClient;
  let project: TestProject;
  let member: Credentials & { id: string };

  test.beforeAll(async () => {
    admin = await signInToApi(adminCredentials());
    project = await createProject(admin, 'e2e-launch');
    member = await createMemberOf(admin, 'e2e-launch', [project]);
    // Room for one more server only, so that the quota has something to say.
    await admin.quotas.set.mutate({ project: project.id, limits: { instances: 1 } });
  });

  test.afterAll(async () => {
    if (admin) await removeProjects(admin, [member], [project]);
    await admin?.auth.logout.mutate().catch(() => undefined);
  });

  test('fits the screen with its buttons in sight, takes the user to the first problem, and says one thing of each', async ({ page }) => {
    test.setTimeout(2 * 60_000);
    await page.setViewportSize({ width: 1280, height: 900 });
    await signIn(page, member);
    await openInstances(page);

    // The first Tab reaches the skip link, which leads past the header and the sections.
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to content' });
    await expect(skip).toBeFocused();
    await expect(skip).toBeInViewport();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    await expect(page.getByRole('button', { name: 'Launch instance' })).toBeFocused();

    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Launch instance' });
    await expect(dialog).toBeVisible();
    const box = (await dialog.boundingBox())!;
    expect(box.y >= 0 && box.y + box.height <= 900).toBe(true);
    const launch = dialog.getByRole('button', { name: 'Launch', exact: true });
    await expect(launch).toBeInViewport({ ratio: 1 });
    await page.screenshot({ path: test.info().outputPath('launch-1280x900.png') });

    // From the bottom of the form, Launch brings the first problem into view and focuses its field.
    await dialog.getByLabel('Count').scrollIntoViewIfNeeded();
    await launch.click();
    await expect(dialog.getByLabel('Name')).toBeFocused();
    await expect(dialog.getByText('Name is required')).toBeInViewport();
    await expect(launch).toBeInViewport({ ratio: 1 });
    await page.screenshot({ path: test.info().outputPath('launch-name-required.png') });

    await dialog.getByLabel('Name').fill(`e2e-launch-${Date.now().toString(36)}`);
    await expect(dialog.getByText('Name is required')).toHaveCount(0);
    await expect(dialog.getByRole('option', { name: 'aster-tiny' })).toBeAttached({ timeout: 30_000 });
    await dialog.getByLabel('Image').selectOption({ label: 'aster-tiny' });
    await dialog.getByLabel('Flavor').selectOption({ label: 'm1.tiny — 1 vCPU, 512 MiB RAM, 1 GiB disk' });
    const count = dialog.getByLabel('Count');
    // Out of range: said once, on Count, and nothing of the quota beside it.
    await count.fill('1000');
    await launch.click();
    await expect(count).toBeFocused();
    await expect(count).toHaveAccessibleDescription('Count must be a whole number from 1 to 10');
    await expect(dialog.getByText(/needed/)).toHaveCount(0);
    // Within range but past the quota: that is said instead, and goes as soon as the count fits.
    await count.fill('2');
    await expect(count).toHaveAccessibleDescription('Exceeds your quota: 2 instances needed, 1 left');
    await expect(dialog.getByText(/from 1 to 10/)).toHaveCount(0);
    await page.screenshot({ path: test.info().outputPath('launch-over-quota.png') });
    await count.fill('1');
    await expect(count).not.toHaveAttribute('aria-invalid', 'true');
    await expect(dialog.getByText(/needed|from 1 to 10/)).toHaveCount(0);

    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByRole('button', { name: 'Launch instance' })).toBeFocused();
  });
});

async function expectReadOnly(page: Page) {
  const launch = page.getByRole('button', { name: 'Launch instance' });
  await expect(launch).toBeDisabled();
  await expect(launch).toHaveAttribute('title', 'Your role reader can only look');
  await expect(page.getByRole('button', { name: 'Delete selected' })).toHaveAttribute('title', 'Your role reader can only look');
  // Whatever servers the project has, none of their actions is open to a reader.
  for (const action of await page.getByRole('button', { name: /^(Start|Stop|Reboot|Delete) / }).all()) {
    await expect(action).toBeDisabled();
    await expect(action).toHaveAttribute('title', 'Your role reader can only look');
  }
}
