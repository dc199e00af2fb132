import { expect, test, type Page } from '@playwright/test';
import { adminCredentials, createThrowawayUser, signInToApi, type AsterClient, type Credentials } from '../helpers/api.ts';
import { deleteServer, reachStatus, type Server } from '../helpers/guest.ts';
import { openInstances, serverRow } from '../helpers/instances.ts';
import { newSignedInPage } from '../helpers/session.ts';
import { notification } from '../helpers/toasts.ts';

/**
 * A lock with its reason, through the browser against the real stack: set from a server's menu, said on its
 * overview, and every action it forbids disabled with the reason, on the server's page and in its row.
 */

// The first request of a page in development compiles it.
const FIRST_VISIT = { timeout: 90_000 };
const stamp = () => Date.now().toString(36);

async function shoot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

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
    const [created] = await client.servers.create.mutate({ name: `e2e-lock-${stamp()}`, flavorId: tiny.id, imageId: image.id });
    server = await reachStatus(client, created!.id, 'ACTIVE');
    page = await newSignedInPage(browser, member);
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
    await expect(notification(page, `${s.name} is locked`)).toBeVisible();
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
    await expect(notification(page, `${s.name} is unlocked`)).toBeVisible();
    await expect(page.getByTestId('server-lock')).toHaveText('No');
    const after = await client.servers.get.query({ id: s.id });
    expect([after.locked, after.lockedReason]).toEqual([false, null]);
    await openInstances(page);
    await expect(serverRow(page, s.name).getByRole('button', { name: `Reboot ${s.name}` })).toBeEnabled();
    await shoot(page, 'unlocked-row');
  });
});
