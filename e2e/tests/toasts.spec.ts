import { expect, test } from '../helpers/fixtures.ts';
import { deleteServer, reachStatus } from '../helpers/guest.ts';
import { signIn } from '../helpers/session.ts';
import { failure, failures, notifications } from '../helpers/toasts.ts';

/**
 * Toasts: two live regions screen readers hear (news politely, failures at once), and above an open modal
 * dialog's backdrop, inside the dialog, where they can be read and dismissed (they were under it).
 */
test('a refusal while a dialog is open is toasted above it, in the assertive region, and can be dismissed there', async ({ page, admin, adminApi }) => {
  test.setTimeout(3 * 60_000);
  const stamp = Date.now().toString(36);
  // A server no host can take: ERROR at once, with no guest to boot.
  const ramMb = Math.max(...(await adminApi.hypervisors.list.query()).map((h) => h.ramMb.total)) + 1024;
  const flavor = await adminApi.flavors.create.mutate({ name: `e2e-toast-huge-${stamp}`, vcpus: 1, ramMb, diskGb: 1 });
  const image = (await adminApi.images.list.query({})).find((i) => i.name === 'aster-tiny')!;
  const [server] = await adminApi.servers.create.mutate({ name: `e2e-toast-${stamp}`, flavorId: flavor.id, imageId: image.id });
  try {
    await reachStatus(adminApi, server!.id, 'ERROR', 60_000);
    await signIn(page, admin);
    await page.goto(`/servers/${server!.id}`, { timeout: 60_000 });
    await expect(page.getByTestId('server-status')).toHaveText('ERROR', { timeout: 60_000 });
    await expect(page).toHaveTitle(`${server!.name} · Aster`);

    // Always on the page, empty or not, so what is added to them is announced.
    await expect(notifications(page)).toHaveAttribute('aria-live', 'polite');
    await expect(failures(page)).toHaveAttribute('aria-live', 'assertive');

    // The Delete dialog is open when someone else deletes the server: its Delete is then refused.
    await page.getByRole('button', { name: 'Actions', exact: true }).click();
    await page.getByRole('menu').getByRole('menuitem', { name: /^Delete/ }).click();
    const dialog = page.getByRole('dialog', { name: `Delete ${server!.name}?` });
    await expect(dialog).toBeVisible();
    await deleteServer(adminApi, server!.id);
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    const refusal = dialog.getByRole('log', { name: 'Errors' }).getByText(`Deleting ${server!.name} failed`);
    await expect(refusal).toBeVisible();
    await expect(dialog).toBeVisible();

    // Nothing covers it: at its own middle the page finds the toast, not the backdrop or the dialog.
    const box = (await refusal.boundingBox())!;
    const onTop = await page.evaluate(([x, y]) => {
      const doc = (globalThis as unknown as { document: { elementFromPoint(x: number, y: number): { closest(s: string): unknown } | null } }).document;
      return doc.elementFromPoint(x, y)?.closest('[role="log"][aria-label="Errors"] > *') != null;
    }, [box.x + box.width / 2, box.y + box.height / 2] as const);
    expect(onTop).toBe(true);
    await page.screenshot({ path: test.info().outputPath('toast-over-dialog.png') });

    await failures(page).getByRole('button', { name: 'Dismiss' }).click();
    await expect(failure(page, `Deleting ${server!.name} failed`)).toHaveCount(0);
    await expect(dialog).toBeVisible();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
    // Back on the page with the dialog gone, the regions are still there.
    await expect(notifications(page)).toBeAttached();
    await expect(failures(page)).toBeAttached();
  } finally {
    await deleteServer(adminApi, server!.id);
    await adminApi.flavors.delete.mutate({ id: flavor.id });
  }
});
