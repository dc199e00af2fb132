import { randomUUID } from 'node:crypto';
import { expect, type Locator, type Page } from '@playwright/test';
import { ADMIN, type AsterClient, type Credentials } from './api.ts';

/** Opens /servers and waits for its table (the first visit compiles the page in development). */
export async function openInstances(page: Page): Promise<void> {
  await page.goto('/servers', { timeout: 60_000 });
  await expect(page.getByRole('heading', { name: 'Instances' })).toBeVisible({ timeout: 60_000 });
  // Listed (so the page is hydrated and its controls answer).
  await expect(page.getByText('Loading servers…')).toBeHidden({ timeout: 60_000 });
}

/** The table row of the server named `name`. */
export function serverRow(page: Page, name: string): Locator {
  return page.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });
}

/** The status badge of a row (its text is the API's status). */
export function rowStatus(row: Locator): Locator {
  return row.locator('[data-status]');
}

/** Fills Launch instance for one aster-tiny on m1.tiny (then whatever `more` fills) and submits it. */
export async function launchThroughDialog(page: Page, name: string, more?: (dialog: Locator) => Promise<void>): Promise<void> {
  await page.getByRole('button', { name: 'Launch instance' }).click();
  const dialog = page.getByRole('dialog', { name: 'Launch instance' });
  await expect(dialog).toBeVisible();
  await dialog.getByLabel('Name').fill(name);
  await expect(dialog.getByRole('option', { name: 'aster-tiny' })).toBeAttached({ timeout: 30_000 });
  await dialog.getByLabel('Image').selectOption({ label: 'aster-tiny' });
  await dialog.getByLabel('Flavor').selectOption({ label: 'm1.tiny — 1 vCPU, 512 MiB RAM, 1 GiB disk' });
  await more?.(dialog);
  await dialog.getByRole('button', { name: 'Launch', exact: true }).click();
  await expect(dialog).toBeHidden();
}

/** A fresh user of project `admin` with role reader: it may look but not act. */
export async function createReader(admin: AsterClient): Promise<Credentials> {
  const username = `e2e-inst-reader-${Date.now().toString(36)}-${randomUUID().slice(0, 6)}`;
  const password = randomUUID();
  await admin.users.create.mutate({ name: username, password, project: ADMIN.project, role: 'reader' });
  return { username, password };
}
