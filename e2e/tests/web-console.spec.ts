import { expect, test } from '../helpers/fixtures.ts';
import { deleteServer } from '../helpers/guest.ts';
import { launchThroughDialog, openInstances, rowStatus, serverRow } from '../helpers/instances.ts';
import { signIn } from '../helpers/session.ts';

/**
 * The operator's path through the console: with the only compute host disabled, a launch fails and its page
 * says why in the scheduler's words; enabled again, the next launch comes up.
 */
test('an admin disables the only host: the launch fails with the scheduler’s reason on its page; enabled again, the next launch works', async ({ page, admin, adminApi }) => {
  test.setTimeout(6 * 60_000);
  const compute = (await adminApi.services.list.query()).filter((s) => s.binary === 'aster-compute');
  expect(compute, 'one compute host runs in the test stack').toHaveLength(1);
  const host = compute[0]!;
  const reason = `e2e maintenance ${Date.now().toString(36)}`;
  const created: string[] = [];
  await signIn(page, admin);
  try {
    await page.goto('/admin/services');
    await page.getByRole('button', { name: `Disable aster-compute on ${host.host}` }).click();
    const dialog = page.getByRole('dialog', { name: `Disable aster-compute on ${host.host}` });
    await dialog.getByLabel('Reason').fill(reason);
    await dialog.getByRole('button', { name: 'Disable', exact: true }).click();
    await expect(page.getByRole('row').filter({ hasText: host.host }).filter({ hasText: 'aster-compute' })).toContainText(reason);
    await page.screenshot({ path: test.info().outputPath('services-disabled.png'), fullPage: true });

    const refused = `e2e-novalid-${Date.now().toString(36)}`;
    await openInstances(page);
    await launchThroughDialog(page, refused);
    const row = serverRow(page, refused);
    await expect(rowStatus(row)).toHaveText('ERROR', { timeout: 60_000 });
    created.push((await adminApi.servers.list.query({ name: refused })).servers[0]!.id);
    await row.getByRole('link', { name: refused, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`/servers/${created[0]}$`));
    // The scheduler's explanation, in words: the host is disabled, with the operator's reason.
    await expect(page.getByRole('main')).toContainText('No valid host', { timeout: 30_000 });
    await expect(page.getByRole('main')).toContainText(reason);
    await page.screenshot({ path: test.info().outputPath('server-error.png'), fullPage: true });

    await page.goto('/admin/services');
    await page.getByRole('button', { name: `Enable aster-compute on ${host.host}` }).click();
    await expect(page.getByRole('button', { name: `Disable aster-compute on ${host.host}` })).toBeVisible();

    const fine = `e2e-fine-${Date.now().toString(36)}`;
    await openInstances(page);
    await launchThroughDialog(page, fine);
    await expect(rowStatus(serverRow(page, fine))).toHaveText('ACTIVE', { timeout: 150_000 });
    created.push((await adminApi.servers.list.query({ name: fine })).servers[0]!.id);
  } finally {
    if ((await adminApi.services.list.query()).some((s) => s.id === host.id && s.state === 'disabled')) await adminApi.services.enable.mutate({ id: host.id });
    for (const id of created) await deleteServer(adminApi, id);
  }
});
