import { connect } from 'node:net';
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

/** What an SSH server at `host`:22 says first (its banner line), or null when nothing answers in time. */
export function sshBanner(host: string, timeoutMs = 3000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port: 22 });
    let said = '';
    const done = (value: string | null) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.on('data', (chunk) => {
      said += chunk.toString('latin1');
      if (said.includes('\n')) done(said.split('\n')[0]!.trim());
    });
    socket.on('error', () => done(null));
    socket.on('close', () => done(said ? said.trim() : null));
  });
}
