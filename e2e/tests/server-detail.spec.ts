import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { adminCredentials, signInToApi, type AsterClient } from '../helpers/api.ts';
import { expectConnected } from '../helpers/console.ts';
import { deleteServer, launchTinyGuest, reachStatus } from '../helpers/guest.ts';
import { at, signIn } from '../helpers/session.ts';
import { failure, notification, notifications, statusWhenToasted } from '../helpers/toasts.ts';

/**
 * The page of one server: its overview, VNC console, console log and action log, actions from its menu seen
 * live through servers.watch, and the fault of a server that could not be placed.
 */

const FIRST_VISIT = 60_000;
const stamp = () => Date.now().toString(36);

function tab(page: Page, name: string) {
  return page.getByRole('tab', { name, exact: true });
}

async function openTab(page: Page, name: string) {
  await tab(page, name).click();
  await expect(tab(page, name)).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByRole('tabpanel', { name })).toBeVisible();
}

async function pick(page: Page, item: RegExp) {
  await page.getByRole('button', { name: 'Actions', exact: true }).click();
  await page.getByRole('menu').getByRole('menuitem', { name: item }).click();
}

async function shoot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

test.describe.serial('the page of a running server', () => {
  let client: AsterClient;
  let server: Awaited<ReturnType<typeof launchTinyGuest>>;
  let context: BrowserContext;
  let page: Page;
  let deleted = false;

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(4 * 60_000);
    client = await signInToApi(adminCredentials());
    server = await launchTinyGuest(client, `e2e-detail-${stamp()}`);
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    await signIn(page, adminCredentials());
  });

  test.afterAll(async () => {
    test.setTimeout(3 * 60_000);
    await context?.close();
    if (server && !deleted) await deleteServer(client, server.id);
    await client?.auth.logout.mutate().catch(() => undefined);
  });

  test('the overview shows the status, address and flavor', async () => {
    await page.goto(`/servers/${server.id}`, { timeout: FIRST_VISIT });
    await expect(page.getByRole('heading', { level: 1, name: new RegExp(server.name) })).toBeVisible({ timeout: FIRST_VISIT });
    await expect(page.getByTestId('server-status')).toHaveText('ACTIVE');
    await expect(tab(page, 'Overview')).toHaveAttribute('aria-selected', 'true');
    const panel = page.getByRole('tabpanel', { name: 'Overview' });
    const address = Object.values(server.addresses).flat()[0]!;
    await expect(panel.getByRole('table', { name: 'Addresses' })).toContainText(address.ip);
    await expect(panel.getByRole('table', { name: 'Addresses' })).toContainText(address.mac);
    // Sizes in binary units, as the API counts them (ramMb is MiB, diskGb GiB).
    expect(server.flavor).toMatchObject({ name: 'm1.tiny', vcpus: 1, ramMb: 512, diskGb: 1 });
    await expect(panel).toContainText('m1.tiny (1 vCPU, 512 MiB RAM, 1 GiB disk)');
    // Administrators see the host.
    await expect(panel).toContainText(server.host ?? 'no host');
    // Dates in the one format of the app, in UTC.
    const date = /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}:\d{2} UTC$/;
    for (const fact of ['Created', 'Updated', 'Launched']) await expect(panel.locator(`xpath=.//dt[normalize-space()="${fact}"]/following-sibling::dd[1]`)).toHaveText(date);
    // Its place, named as the menu names it.
    const crumbs = page.getByRole('navigation', { name: 'Breadcrumb' });
    await expect(crumbs.getByRole('link', { name: 'Instances', exact: true })).toHaveAttribute('href', '/servers');
    await expect(page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Instances', exact: true })).toHaveAttribute('href', '/servers');
    await expect(crumbs.getByRole('listitem')).toHaveText(['Instances', server.name]);
    await shoot(page, 'overview');
  });

  test('the Console tab connects to the VNC screen', async () => {
    await openTab(page, 'Console');
    await expectConnected(page, 60_000);
    await expect(page.getByRole('link', { name: 'SPICE console' })).toHaveAttribute('href', `/servers/${server.id}/console?type=spice-html5`);
    await expect(page.getByRole('link', { name: 'Serial console' })).toHaveAttribute('href', `/servers/${server.id}/console?type=serial`);
    await shoot(page, 'console');
  });

  test('the Log tab shows the console output', async () => {
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { level: 1 }).click();
    await page.keyboard.press('l');
    await expect(tab(page, 'Log')).toHaveAttribute('aria-selected', 'true');
    await expect(page.getByLabel('Console output')).toContainText(/aster-guest ready hostname=\S+/, { timeout: 30_000 });
    await page.getByRole('checkbox', { name: 'Follow' }).check();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await shoot(page, 'log');
    await page.getByRole('checkbox', { name: 'Follow' }).uncheck();
  });

  test('actions the state does not allow are disabled with the reason; a stop asks first', async () => {
    await page.getByRole('button', { name: 'Actions', exact: true }).click();
    const menu = page.getByRole('menu');
    await expect(menu.getByRole('menuitem', { name: 'Start' })).toBeDisabled();
    await expect(menu.getByRole('menuitem', { name: 'Start' })).toHaveAttribute('title', /Cannot start a server in status ACTIVE/);
    await expect(menu.getByRole('menuitem', { name: 'Unpause' })).toBeDisabled();
    await page.keyboard.press('Escape');
    await expect(menu).toBeHidden();
    await pick(page, /^Stop/);
    const dialog = page.getByRole('dialog', { name: `Stop ${server.name}?` });
    await expect(dialog).toBeVisible();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByTestId('server-status')).toHaveText('ACTIVE');
  });

  test('a reader sees the page, with every action disabled and why', async ({ browser }) => {
    const username = `e2e-detail-reader-${stamp()}`;
    const password = `pw-${stamp()}-${Math.random().toString(36).slice(2)}`;
    const user = await client.users.create.mutate({ name: username, password, project: 'admin', role: 'reader' });
    // At phone width, to see that the page and its menu fit.
    const readerContext = await browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      const reader = await readerContext.newPage();
      await signIn(reader, { username, password });
      await reader.goto(`/servers/${server.id}`, { timeout: FIRST_VISIT });
      await expect(reader.getByTestId('server-status')).toHaveText('ACTIVE', { timeout: FIRST_VISIT });
      await expect(reader.getByRole('tabpanel', { name: 'Overview' })).not.toContainText('Host');
      await reader.getByRole('button', { name: 'Actions', exact: true }).click();
      const reboot = reader.getByRole('menu').getByRole('menuitem', { name: 'Reboot', exact: true });
      await expect(reboot).toBeDisabled();
      await expect(reboot).toHaveAttribute('title', 'Your role reader can only look');
      await expect(reader.getByRole('menu').getByRole('menuitem', { name: /^Delete/ })).toBeDisabled();
      const box = await reader.getByRole('menu').boundingBox();
      expect(box && box.x >= 0 && box.x + box.width <= 390).toBe(true);
      await reader.screenshot({ path: test.info().outputPath('reader-phone.png'), fullPage: true });
    } finally {
      await readerContext.close();
      await client.users.delete.mutate({ id: user.id });
    }
  });

  test('pause, unpause, lock and unlock from the menu, each toasted when done', async () => {
    test.setTimeout(2 * 60_000);
    const status = page.getByTestId('server-status');
    await openTab(page, 'Overview');
    const paused = await statusWhenToasted(page, `${server.name} is paused`, 'page');
    await pick(page, /^Pause$/);
    await expect(status).toHaveText('PAUSED', { timeout: 60_000 });
    await expect(notification(page, `${server.name} is paused`)).toBeVisible();
    expect(await paused()).toBe('PAUSED');
    await pick(page, /^Unpause$/);
    await expect(status).toHaveText('ACTIVE', { timeout: 60_000 });
    await expect(notification(page, `${server.name} is unpaused`)).toBeVisible();
    await pick(page, /^Lock/);
    await page.getByRole('dialog', { name: `Lock ${server.name}` }).getByRole('button', { name: 'Lock' }).click();
    await expect(notification(page, `${server.name} is locked`)).toBeVisible();
    await expect(page.getByRole('tabpanel', { name: 'Overview' })).toContainText(/Locked\s*Locked by (owner|admin)/);
    await pick(page, /^Unlock$/);
    await expect(notification(page, `${server.name} is unlocked`)).toBeVisible();
  });

  test('a reboot from the menu shows REBOOT, then ACTIVE, live, and lands in the action log', async () => {
    test.setTimeout(3 * 60_000);
    await openTab(page, 'Overview');
    const rebooted = await statusWhenToasted(page, `${server.name} is rebooted`, 'page');
    await pick(page, /^Reboot$/);
    await expect(notification(page, `Rebooting ${server.name}…`)).toBeVisible();
    await expect(page.getByTestId('server-status')).toHaveText(/^REBOOT/, { timeout: 30_000 });
    await expect(page.getByTestId('server-status')).toHaveText('ACTIVE', { timeout: 150_000 });
    await expect(notification(page, `${server.name} is rebooted`)).toBeVisible({ timeout: 30_000 });
    expect(await rebooted()).toBe('ACTIVE');
    await openTab(page, 'Action log');
    const log = page.getByRole('list', { name: 'Actions' });
    await expect(log.getByRole('listitem').first()).toContainText('reboot');
    await expect(log.getByRole('listitem').first()).toContainText('Success');
    await expect(log.getByRole('listitem').first()).toContainText(/by admin \(you\), \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}:\d{2} UTC, finished /);
    await shoot(page, 'action-log');
  });

  test('a resize waits in VERIFY_RESIZE until it is confirmed', async () => {
    test.setTimeout(4 * 60_000);
    await reachStatus(client, server.id, 'ACTIVE');
    await openTab(page, 'Overview');
    await pick(page, /^Resize/);
    const dialog = page.getByRole('dialog', { name: `Resize ${server.name}` });
    await dialog.getByLabel('Flavor').selectOption({ label: 'm1.small (1 vCPU, 2 GiB RAM, 20 GiB disk)' });
    const resized = await statusWhenToasted(page, `${server.name} is resized to m1.small`, 'page');
    await dialog.getByRole('button', { name: 'Resize' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByTestId('server-status')).toHaveText('VERIFY_RESIZE', { timeout: 180_000 });
    await expect(notification(page, `${server.name} is resized to m1.small: confirm or revert the resize`)).toBeVisible({ timeout: 30_000 });
    expect(await resized()).toBe('VERIFY_RESIZE');
    await shoot(page, 'verify-resize');
    // Confirming says so in its own words (it once said the server "is unlocked"), once the server is ACTIVE.
    const confirmed = await statusWhenToasted(page, `The resize of ${server.name} is confirmed`, 'page');
    await page.getByRole('button', { name: 'Confirm resize' }).click();
    await expect(page.getByTestId('server-status')).toHaveText('ACTIVE', { timeout: 120_000 });
    await expect(notification(page, `The resize of ${server.name} is confirmed: it keeps m1.small`)).toBeVisible();
    expect(await confirmed()).toBe('ACTIVE');
    await expect(notifications(page)).not.toContainText('unlocked');
    await expect(page.getByRole('button', { name: 'Confirm resize' })).toBeHidden();
    await expect(page.getByRole('tabpanel', { name: 'Overview' })).toContainText('m1.small (1 vCPU, 2 GiB RAM, 20 GiB disk)');
  });

  test('a snapshot of the resized server needs its 20 GiB disk, and Launch does not offer m1.tiny for it', async () => {
    test.setTimeout(3 * 60_000);
    await reachStatus(client, server.id, 'ACTIVE');
    const name = `e2e-detail-snap-${stamp()}`;
    const { imageId } = await client.servers.createImage.mutate({ id: server.id, name });
    try {
      await expect.poll(async () => (await client.images.get.query({ id: imageId })).status, { timeout: 120_000, intervals: [1000] }).toBe('active');
      await reachStatus(client, server.id, 'ACTIVE');
      expect(await client.images.get.query({ id: imageId })).toMatchObject({ minDiskGb: 20 });

      await page.goto('/images', { timeout: FIRST_VISIT });
      const row = page.getByRole('table', { name: 'Images' }).getByRole('row').filter({ hasText: name });
      // Its minimum disk and RAM (the RAM of the image the server was built from).
      await expect(row).toContainText(/20 GiB \/ \d+ MiB/, { timeout: FIRST_VISIT });

      await page.goto('/servers', { timeout: FIRST_VISIT });
      await page.getByRole('button', { name: 'Launch instance' }).click();
      const dialog = page.getByRole('dialog', { name: 'Launch instance' });
      await expect(dialog.getByRole('option', { name })).toBeAttached({ timeout: 30_000 });
      await dialog.getByLabel('Image').selectOption({ label: name });
      const tiny = dialog.getByRole('option', { name: /^m1\.tiny / });
      await expect(tiny).toBeDisabled();
      await expect(tiny).toHaveText('m1.tiny — 1 vCPU, 512 MiB RAM, 1 GiB disk (too small for this image)');
      await expect(tiny).toHaveAttribute('title', `Image ${name} needs a disk of at least 20 GiB; flavor m1.tiny has 1 GiB`);
      await expect(dialog.getByRole('option', { name: /^m1\.small / })).toBeEnabled();
      await shoot(page, 'launch-snapshot-flavors');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      // Back on the server's page, where the next test acts.
      await page.goto(`/servers/${server.id}`, { timeout: FIRST_VISIT });
      await expect(page.getByTestId('server-status')).toHaveText('ACTIVE', { timeout: FIRST_VISIT });
    } finally {
      await client.images.delete.mutate({ id: imageId }).catch(() => undefined);
    }
  });

  test('delete asks first, then goes to the servers', async () => {
    test.setTimeout(3 * 60_000);
    await reachStatus(client, server.id, 'ACTIVE');
    await pick(page, /^Delete/);
    const dialog = page.getByRole('dialog', { name: `Delete ${server.name}?` });
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await expect(page).toHaveURL(at('/servers'), { timeout: FIRST_VISIT });
    // The focus lands on the list it came back to.
    await expect(page.getByRole('heading', { level: 1, name: 'Instances' })).toBeFocused();
    deleted = true;
    await deleteServer(client, server.id);
  });
});

test.describe('the page of a server that found no host', () => {
  test('shows the scheduler’s reason', async ({ page }) => {
    test.setTimeout(2 * 60_000);
    const client = await signInToApi(adminCredentials());
    // More memory than any host has (but within the project's quota), so the scheduler must refuse it.
    const hosts = await client.hypervisors.list.query();
    const ramMb = Math.max(...hosts.map((h) => h.ramMb.total)) + 1024;
    const flavor = await client.flavors.create.mutate({ name: `e2e-detail-huge-${stamp()}`, vcpus: 1, ramMb, diskGb: 1 });
    let serverId: string | undefined;
    try {
      const image = (await client.images.list.query({})).find((i) => i.name === 'aster-tiny')!;
      const [created] = await client.servers.create.mutate({ name: `e2e-detail-nohost-${stamp()}`, flavorId: flavor.id, imageId: image.id });
      serverId = created!.id;
      await reachStatus(client, serverId, 'ERROR', 60_000);
      await signIn(page, adminCredentials());
      await page.goto(`/servers/${serverId}`, { timeout: FIRST_VISIT });
      await expect(page.getByTestId('server-status')).toHaveText('ERROR', { timeout: FIRST_VISIT });
      await expect(page.getByRole('main').getByRole('alert')).toContainText(/No valid host: .*MB of free RAM/);
      // Not in the state for a start, a reboot or a console.
      await page.getByRole('button', { name: 'Actions', exact: true }).click();
      await expect(page.getByRole('menuitem', { name: 'Start' })).toBeDisabled();
      await expect(page.getByRole('menuitem', { name: /^Delete/ })).toBeEnabled();
      await page.keyboard.press('Escape');
      // The reboot shortcut says why it cannot run.
      await page.keyboard.press('r');
      await expect(failure(page, 'Cannot reboot a server in status ERROR')).toBeVisible();
      await shoot(page, 'error');
      await page.setViewportSize({ width: 390, height: 844 });
      await shoot(page, 'error-phone');
    } finally {
      if (serverId) await deleteServer(client, serverId);
      await client.flavors.delete.mutate({ id: flavor.id });
      await client.auth.logout.mutate().catch(() => undefined);
    }
  });
});
