import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { adminCredentials, signInToApi, type AsterClient } from '../helpers/api.ts';
import {
  canvasColours,
  connectionStatus,
  consoleAlert,
  expectConnected,
  openConsolePage,
  pasteAsKeystrokes,
  sendKeys,
  switchTab,
  terminalRows,
} from '../helpers/console.ts';
import { deleteServer, launchTinyGuest, reachStatus } from '../helpers/guest.ts';
import { signIn } from '../helpers/session.ts';

/**
 * The web console's page for one real guest (aster-tiny under libvirt), through the real console proxy:
 * its VNC screen and keys, its serial shell, its SPICE screen, and what the page says when the proxy closes.
 */

const READY = /aster-guest ready hostname=\S+ instance=\S+/g;
const consoleLog = async (client: AsterClient, id: string) => (await client.servers.consoleLog.query({ id })).output;
const readyLines = async (client: AsterClient, id: string) => (await consoleLog(client, id)).match(READY)?.length ?? 0;

test.describe.serial('the console page of a real guest', () => {
  let client: AsterClient;
  let server: { id: string; name: string };
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(4 * 60_000);
    client = await signInToApi(adminCredentials());
    server = await launchTinyGuest(client, `e2e-console-${Date.now().toString(36)}`);
    context = await browser.newContext();
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(page, adminCredentials());
  });

  test.afterAll(async () => {
    test.setTimeout(3 * 60_000);
    await context?.close();
    if (server) await deleteServer(client, server.id);
    await client?.auth.logout.mutate().catch(() => undefined);
  });

  // A client that throws (say while it is torn down on a tab switch) breaks the page: none may.
  test.afterEach(() => expect(pageErrors).toEqual([]));

  test('VNC connects and draws the guest screen', async () => {
    await openConsolePage(page, server.id);
    await expect(page.getByRole('heading', { name: `Console of ${server.name}` })).toBeVisible();
    await expect(page.getByRole('link', { name: 'VNC', exact: true })).toHaveAttribute('aria-current', 'page');
    // The way back leads to the server's page, named as the menu names its section.
    const crumbs = page.getByRole('navigation', { name: 'Breadcrumb' });
    await expect(crumbs.getByRole('link', { name: server.name })).toHaveAttribute('href', `/servers/${server.id}`);
    await expect(crumbs.getByRole('link', { name: 'Instances', exact: true })).toHaveAttribute('href', '/servers');
    await expect(crumbs.getByRole('listitem')).toHaveText(['Instances', server.name, 'Console']);
    await expectConnected(page);
    const screen = page.getByRole('region', { name: 'VNC screen' });
    await expect.poll(() => canvasColours(screen), { timeout: 30_000 }).toBeGreaterThan(1);
    await expect(page.getByLabel('Scaling')).toHaveValue('fit');
  });

  test('Paste as keystrokes types into the guest over VNC, shifted characters too', async () => {
    // The screen's shell writes to the serial port, so the console log shows what it ran.
    const n = Math.floor(Math.random() * 90000);
    await pasteAsKeystrokes(page, `echo Vnc-Keys_$((${n}+1)) >/dev/ttyS0\n`);
    await expect.poll(() => consoleLog(client, server.id), { timeout: 20_000, intervals: [500] }).toContain(`Vnc-Keys_${n + 1}`);
  });

  test('Ctrl+Alt+Del from the keys menu reboots the guest', async () => {
    test.setTimeout(2 * 60_000);
    const before = await readyLines(client, server.id);
    expect(before).toBeGreaterThanOrEqual(1);
    await sendKeys(page, 'Ctrl+Alt+Del');
    // busybox init runs /sbin/reboot on ctrl-alt-del; the guest says it is ready once more.
    await expect.poll(() => readyLines(client, server.id), { timeout: 90_000, intervals: [1000] }).toBeGreaterThan(before);
    await expectConnected(page, 5_000);
  });

  test('the serial tab runs a command in the guest shell and shows the console log', async () => {
    await switchTab(page, 'Serial');
    await expectConnected(page);
    const [a, b] = [1000 + Math.floor(Math.random() * 9000), 100 + Math.floor(Math.random() * 900)];
    await page.getByRole('region', { name: 'Serial terminal' }).click();
    // The sum shows only if the shell ran the line: its echo shows the expression.
    await page.keyboard.type(`echo aster-e2e-$((${a}+${b}))`);
    await page.keyboard.press('Enter');
    await expect(terminalRows(page)).toContainText(`aster-e2e-${a + b}`, { timeout: 20_000 });

    const log = page.getByRole('region', { name: 'Console log' });
    await expect(log.getByLabel('Console log output')).toContainText('aster-guest ready', { timeout: 20_000 });
    await log.getByRole('checkbox', { name: 'Follow' }).check();
    await expect(log.getByLabel('Console log output')).toContainText(`aster-e2e-${a + b}`, { timeout: 20_000 });
    // The shell wrote terminal escapes (its cursor query ESC[6n among them); the page shows the text without them.
    const ESC = String.fromCharCode(27);
    const raw = await consoleLog(client, server.id);
    const sequences = new Set((raw.match(new RegExp(`${ESC}\\[[0-?]*[ -/]*[@-~]`, 'g')) ?? []).map((s) => s.slice(1)));
    expect(sequences.size).toBeGreaterThan(0);
    const shown = (await log.getByLabel('Console log output').textContent()) ?? '';
    expect([...shown].filter((c) => c < ' ' && c !== '\n' && c !== '\t')).toEqual([]);
    // Not even what follows the ESC (say "[6n") is left, where the guest's text has no such characters of its own.
    const text = [...sequences].reduce((t, s) => t.replaceAll(ESC + s, ''), raw);
    for (const s of sequences) if (!text.includes(s)) expect(shown, `the sequence ESC${s}`).not.toContain(s);
  });

  test('the SPICE tab connects, draws the guest screen and types into it', async () => {
    // The client is Debian's spice-html5, served by the web console from its folder and nothing outside it.
    const main = await page.request.get('/spice-html5/main.js');
    expect(main.status()).toBe(200);
    expect(main.headers()['content-type']).toMatch(/^text\/javascript/);
    expect((await page.request.get('/spice-html5/..%2F..%2F..%2Fetc%2Fpasswd')).status()).toBe(404);

    await switchTab(page, 'SPICE');
    await expectConnected(page);
    const screen = page.getByRole('region', { name: 'SPICE screen' });
    await expect.poll(() => canvasColours(screen), { timeout: 30_000 }).toBeGreaterThan(1);
    const n = Math.floor(Math.random() * 90000);
    await pasteAsKeystrokes(page, `echo Spice-Keys_$((${n}+1)) >/dev/ttyS0\n`);
    await expect.poll(() => consoleLog(client, server.id), { timeout: 20_000, intervals: [500] }).toContain(`Spice-Keys_${n + 1}`);
  });

  test('a stopped server closes the console with its reason; Reconnect opens it again once started', async () => {
    test.setTimeout(3 * 60_000);
    await switchTab(page, 'VNC');
    await expectConnected(page);
    await client.servers.stop.mutate({ id: server.id });
    await expect(consoleAlert(page)).toContainText(/SHUTOFF|console closed|no longer valid/, { timeout: 120_000 });
    await expect(connectionStatus(page)).toContainText('Disconnected: ');
    await expect(consoleAlert(page)).not.toContainText('1006');

    await reachStatus(client, server.id, 'SHUTOFF');
    // A page opened now says why there is no console, and still shows the console log.
    const other = await context.newPage();
    await openConsolePage(other, server.id, 'serial');
    await expect(consoleAlert(other)).toContainText(`${server.name} is SHUTOFF`);
    await expect(other.getByLabel('Console log output')).toContainText('aster-guest ready');
    await other.close();

    await client.servers.start.mutate({ id: server.id });
    await reachStatus(client, server.id, 'ACTIVE');
    await consoleAlert(page).getByRole('button', { name: 'Reconnect' }).click();
    await expectConnected(page);
    await expect(page.getByRole('main').getByText('ACTIVE', { exact: true })).toBeVisible();
  });
});
