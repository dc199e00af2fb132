import { expect, type Locator, type Page } from '@playwright/test';
import { launchThroughDialog } from './instances.ts';

/** Opens /server-groups and waits until its list has loaded (the first visit compiles the page in development). */
export async function openServerGroups(page: Page): Promise<void> {
  await page.goto('/server-groups', { timeout: 60_000 });
  await expect(page.getByRole('heading', { level: 1, name: 'Server groups' })).toBeVisible({ timeout: 60_000 });
  await expect(page.getByText('Loading server groups…')).toBeHidden({ timeout: 60_000 });
}

/** The table row of the server group named `name`. */
export function groupRow(page: Page, name: string): Locator {
  return page.getByRole('table', { name: 'Server groups' }).getByRole('row').filter({ has: page.getByRole('cell', { name, exact: true }) });
}

/**
 * Fills Launch instance for one aster-tiny on m1.tiny into server group `group` (its option reads "name (Policy)",
 * e.g. "web (Anti-affinity)") and availability zone `zone`, and submits it.
 */
export async function launchIntoGroup(page: Page, name: string, { group, policy, zone }: { group: string; policy: string; zone: string }): Promise<void> {
  await launchThroughDialog(page, name, async (dialog) => {
    await expect(dialog.getByRole('option', { name: `${group} (${policy})`, exact: true })).toBeAttached({ timeout: 30_000 });
    await dialog.getByLabel('Server group').selectOption({ label: `${group} (${policy})` });
    await expect(dialog.getByRole('option', { name: zone, exact: true })).toBeAttached({ timeout: 30_000 });
    await dialog.getByLabel('Availability zone').selectOption({ label: zone });
  });
}
