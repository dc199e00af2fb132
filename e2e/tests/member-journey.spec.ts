import { expect, test } from '../helpers/fixtures.ts';
import { canvasColours, expectConnected, openConsolePage, terminalRows } from '../helpers/console.ts';
import { deleteServer } from '../helpers/guest.ts';
import { launchThroughDialog, openInstances, rowStatus, serverRow } from '../helpers/instances.ts';
import { signIn } from '../helpers/session.ts';

/**
 * One new member's whole way through the console with a real guest, never reloading a page: launch it, see it
 * come up, look at its screen, type in its serial console, read its history, reboot it, delete it.
 */
test('a new member launches a guest, uses its consoles, reads its action log, reboots and deletes it', async ({ page, throwawayUser, adminApi }) => {
  test.setTimeout(8 * 60_000);
  const name = `e2e-journey-${Date.now().toString(36)}`;
  try {
    await signIn(page, throwawayUser);
    await openInstances(page);
    await launchThroughDialog(page, name);
    const row = serverRow(page, name);
    await expect(rowStatus(row)).toHaveText('BUILD');
    await expect(rowStatus(row)).toHaveText('ACTIVE', { timeout: 150_000 });

    // Its page, then its screen.
    await row.getByRole('link', { name, exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible({ timeout: 60_000 });
    const id = new URL(page.url()).pathname.split('/').at(-1)!;
    await page.getByRole('tab', { name: 'Console', exact: true }).click();
    await expectConnected(page, 60_000);
    await expect.poll(() => canvasColours(page.getByRole('region', { name: 'VNC screen' })), { timeout: 60_000 }).toBeGreaterThan(1);
    await page.screenshot({ path: test.info().outputPath('journey-console.png'), fullPage: true });

    // The serial console runs what is typed once the guest is up.
    await expect.poll(async () => (await adminApi.servers.consoleLog.query({ id })).output, { timeout: 150_000, intervals: [1000] }).toContain('aster-guest ready');
    await openConsolePage(page, id, 'serial');
    await expectConnected(page);
    await page.getByRole('region', { name: 'Serial terminal' }).click();
    await page.keyboard.type('echo journey-$((40+2))');
    await page.keyboard.press('Enter');
    await expect(terminalRows(page)).toContainText('journey-42', { timeout: 20_000 });

    // Its history, a reboot seen live, then the history again.
    await page.goto(`/servers/${id}`);
    await page.getByRole('tab', { name: 'Action log', exact: true }).click();
    await expect(page.getByRole('list', { name: 'Actions' })).toContainText('create');
    await page.getByRole('button', { name: 'Actions', exact: true }).click();
    await page.getByRole('menu').getByRole('menuitem', { name: /^Reboot$/ }).click();
    await expect(page.getByTestId('server-status')).toHaveText(/^REBOOT/, { timeout: 30_000 });
    await expect(page.getByTestId('server-status')).toHaveText('ACTIVE', { timeout: 150_000 });
    await expect(page.getByRole('list', { name: 'Actions' }).getByRole('listitem').first()).toContainText('reboot', { timeout: 30_000 });
    await page.screenshot({ path: test.info().outputPath('journey-action-log.png'), fullPage: true });

    // Delete, confirmed; back on Instances the row goes away by itself.
    await page.getByRole('button', { name: 'Actions', exact: true }).click();
    await page.getByRole('menu').getByRole('menuitem', { name: /^Delete/ }).click();
    await page.getByRole('dialog', { name: `Delete ${name}?` }).getByRole('button', { name: 'Delete' }).click();
    await expect(page).toHaveURL(/\/servers$/, { timeout: 60_000 });
    await expect(serverRow(page, name)).toHaveCount(0, { timeout: 120_000 });
  } finally {
    for (const s of (await adminApi.servers.list.query({ name, allProjects: true })).servers) await deleteServer(adminApi, s.id);
  }
});
