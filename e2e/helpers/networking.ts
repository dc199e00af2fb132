import { expect, type Page } from '@playwright/test';

/** Opens a networking page from the side navigation and waits for its heading. */
export async function openSection(page: Page, link: string, heading = link): Promise<void> {
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: link, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
}

/** A node of the topology drawing, found by the start of its accessible name ("Router r1, …"). */
export function topologyNode(page: Page, kind: 'External network' | 'Router' | 'Network' | 'Server', name: string) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return page.getByRole('group', { name: 'Network topology' }).getByRole('link', { name: new RegExp(`^${kind} ${escaped}[, ]`) });
}

/** A screenshot of the whole page at 1280×900, for a person to look at. */
export async function shot(page: Page, path: string): Promise<void> {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path, fullPage: true });
}
