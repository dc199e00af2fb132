import { expect, type Page } from '@playwright/test';

// The first request of a page in development compiles it.
const FIRST_VISIT = { timeout: 90_000 };

/** Opens Images and waits for its table (so the page is live). */
export async function openImages(page: Page): Promise<void> {
  await page.goto('/images', FIRST_VISIT);
  await expect(page.getByRole('heading', { level: 1, name: 'Images' })).toBeVisible(FIRST_VISIT);
  await expect(page.getByRole('main').getByRole('table', { name: 'Images' })).toBeVisible(FIRST_VISIT);
}

/** The row of the image named `name` in the Images table. */
export function imageRow(page: Page, name: string) {
  return page.getByRole('table', { name: 'Images' }).getByRole('row').filter({ hasText: name });
}
