import { expect, type Locator, type Page } from '@playwright/test';

export type ConsoleTab = 'VNC' | 'SPICE' | 'Serial';

/** Opens the console page of a server, on the VNC tab unless another is named. */
export async function openConsolePage(page: Page, serverId: string, type?: 'novnc' | 'spice-html5' | 'serial'): Promise<void> {
  await page.goto(`/servers/${serverId}/console${type ? `?type=${type}` : ''}`);
}

/** The connection's status line ("Connecting…", "Connected", "Disconnected: <reason>"). */
export function connectionStatus(page: Page): Locator {
  return page.getByRole('main').getByRole('status');
}

/** The alert that says why the console is not connected. (Next's route announcer is an alert outside <main>.) */
export function consoleAlert(page: Page): Locator {
  return page.getByRole('main').getByRole('alert');
}

export async function switchTab(page: Page, tab: ConsoleTab): Promise<void> {
  await page.getByRole('navigation', { name: 'Console type' }).getByRole('link', { name: tab, exact: true }).click();
  await expect(page.getByRole('link', { name: tab, exact: true })).toHaveAttribute('aria-current', 'page');
}

export async function expectConnected(page: Page, timeout = 30_000): Promise<void> {
  await expect(connectionStatus(page)).toHaveText('Connected', { timeout });
}

/** Picks an item of the "Send keys" menu, e.g. "Ctrl+Alt+Del". */
export async function sendKeys(page: Page, item: string): Promise<void> {
  await page.getByRole('button', { name: 'Send keys' }).click();
  await page.getByRole('menu', { name: 'Send keys' }).getByRole('menuitem', { name: item, exact: true }).click();
}

/** Types `text` into the guest through the "Paste as keystrokes" dialog. */
export async function pasteAsKeystrokes(page: Page, text: string): Promise<void> {
  await page.getByRole('button', { name: 'Paste as keystrokes' }).click();
  const dialog = page.getByRole('dialog', { name: 'Paste as keystrokes' });
  await dialog.getByLabel('Text to type').fill(text);
  await dialog.getByRole('button', { name: 'Type it' }).click();
  await expect(dialog).toBeHidden();
}

/**
 * How many distinct colours the first canvas inside `region` shows (sampling every few pixels): a console
 * that draws the guest's screen has more than one, a blank or never-drawn canvas has one or none.
 */
export async function canvasColours(region: Locator): Promise<number> {
  const canvas = region.locator('canvas').first();
  if ((await region.locator('canvas').count()) === 0) return 0;
  return canvas.evaluate((element) => {
    // The browser's canvas, typed here: the e2e project compiles without the DOM library.
    type Canvas = { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null };
    const c = element as unknown as Canvas;
    const context = c.width && c.height ? c.getContext('2d') : null;
    if (!context) return 0;
    const { data } = context.getImageData(0, 0, c.width, c.height);
    const seen = new Set<number>();
    for (let i = 0; i < data.length && seen.size < 64; i += 4 * 7) {
      seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
    }
    return seen.size;
  });
}

/** The text on the serial terminal's screen (xterm.js draws its rows as DOM text). */
export function terminalRows(page: Page): Locator {
  return page.getByRole('region', { name: 'Serial terminal' }).locator('.xterm-rows');
}
