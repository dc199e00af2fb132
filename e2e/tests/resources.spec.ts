import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { adminCredentials, createThrowawayUser, signInToApi } from '../helpers/api.ts';
import { sshPublicKey } from '../helpers/keys.ts';
import { deleteServer, reachStatus } from '../helpers/guest.ts';
import { createMemberOf, createProject, removeProjects } from '../helpers/projects.ts';
import { signIn } from '../helpers/session.ts';

// The first request of a page in dev mode compiles it.
const FIRST_LOAD = { timeout: 90_000 };

/** Opens a page and waits for its data, which the browser loads once the page is live (so its buttons work). */
async function open(page: Page, path: string, heading: string, loaded: string): Promise<void> {
  await page.goto(path, FIRST_LOAD);
  await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible(FIRST_LOAD);
  await expect(page.getByRole('main').getByRole(loaded === 'Usage' ? 'meter' : 'table', loaded === 'Usage' ? { name: 'Instances' } : { name: loaded })).toBeVisible(FIRST_LOAD);
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

const suffix = () => Date.now().toString(36);

test('a member uploads an image with progress, imports a key pair, deletes both, and reads flavors, networks and quotas', async ({ page }) => {
  test.setTimeout(6 * 60_000);
  const admin = await signInToApi(adminCredentials());
  const member = await createThrowawayUser(admin);
  await signIn(page, member);

  // Images: a 4 MiB raw image of zeros, through the dialog.
  const imageName = `res-img-${suffix()}`;
  const file = test.info().outputPath('zeros.raw');
  writeFileSync(file, Buffer.alloc(4 * 1024 * 1024));
  await open(page, '/images', 'Images', 'Images');
  await page.getByRole('button', { name: 'Upload image' }).click();
  const upload = page.getByRole('dialog', { name: 'Upload image' });
  await upload.getByLabel('Name').fill(imageName);
  await upload.getByLabel('Disk format').selectOption('raw');
  await upload.getByLabel('Image file').setInputFiles(file);
  await upload.getByRole('button', { name: 'Upload', exact: true }).click();
  const progress = upload.getByRole('progressbar', { name: `Uploading ${imageName}` });
  await expect(progress).toHaveAttribute('aria-valuenow', '100', { timeout: 60_000 });
  await expect(upload.getByRole('status')).toContainText('Uploaded', { timeout: 60_000 });
  await expect(upload).toContainText('4.0 MiB of 4.0 MiB (100%)');
  await screenshot(page, 'images-upload');
  await upload.getByRole('button', { name: 'Close' }).click();
  const imageRow = page.getByRole('table', { name: 'Images' }).getByRole('row').filter({ hasText: imageName });
  await expect(imageRow).toContainText('active');
  await expect(imageRow).toContainText('4.0 MiB');
  await imageRow.getByRole('button', { name: `Details of ${imageName}` }).click();
  await expect(page.getByLabel(`Visibility of ${imageName}`)).toHaveValue('private');
  await screenshot(page, 'images');
  await imageRow.getByRole('button', { name: `Delete ${imageName}` }).click();
  const deleteImage = page.getByRole('dialog', { name: `Delete image ${imageName}` });
  await deleteImage.getByRole('button', { name: 'Delete image' }).click();
  await expect(deleteImage).toBeHidden();
  await expect(imageRow).toHaveCount(0);

  // Key pairs: a pasted public key, shown with its fingerprint.
  const keyName = `res-key-${suffix()}`;
  const key = sshPublicKey('e2e@resources');
  await open(page, '/keypairs', 'Key pairs', 'Key pairs');
  await page.getByRole('button', { name: 'Import key pair' }).click();
  const importKey = page.getByRole('dialog', { name: 'Import key pair' });
  await importKey.getByLabel('Name').fill(keyName);
  await importKey.getByLabel('Public key', { exact: true }).fill(key.line);
  await importKey.getByRole('button', { name: 'Import' }).click();
  await expect(importKey).toBeHidden();
  const keyRow = page.getByRole('table', { name: 'Key pairs' }).getByRole('row').filter({ hasText: keyName });
  await expect(keyRow).toContainText(key.fingerprint);
  await expect(keyRow).toContainText('ssh-ed25519');
  await screenshot(page, 'keypairs');
  await keyRow.getByRole('button', { name: `Delete ${keyName}` }).click();
  await page.getByRole('dialog', { name: `Delete key pair ${keyName}` }).getByRole('button', { name: 'Delete key pair' }).click();
  await expect(keyRow).toHaveCount(0);

  // Flavors: the seeded ones, and no way for a member to create one.
  await open(page, '/flavors', 'Flavors', 'Flavors');
  const flavors = page.getByRole('table', { name: 'Flavors' });
  await expect(flavors.getByRole('row').filter({ hasText: 'm1.tiny' })).toBeVisible();
  const create = page.getByRole('button', { name: 'Create flavor' });
  await expect(create).toBeDisabled();
  await expect(create).toHaveAttribute('title', 'Only administrators can create flavors');
  await screenshot(page, 'flavors');

  // Networks: what the API lists for the project, with subnets.
  const networks = await admin.networks.list.query();
  await open(page, '/networks', 'Networks', 'Networks');
  const table = page.getByRole('table', { name: 'Networks' });
  for (const network of networks) {
    await expect(table.getByRole('row').filter({ hasText: network.name }).first()).toContainText(network.subnets[0]?.cidr ?? '');
  }
  // A bad subnet is refused with the API's reason in the dialog (a real network would change where others' servers go).
  await page.getByRole('button', { name: 'Create network' }).click();
  const createNetwork = page.getByRole('dialog', { name: 'Create network' });
  await createNetwork.getByLabel('Name').fill(`res-net-${suffix()}`);
  await createNetwork.getByLabel('Subnet CIDR').fill('not-a-network');
  await createNetwork.getByRole('button', { name: 'Create' }).click();
  await expect(createNetwork.getByRole('alert')).toContainText('IPv4');
  await createNetwork.getByRole('button', { name: 'Cancel' }).click();
  await expect(createNetwork).toBeHidden();
  await screenshot(page, 'networks');

  // Quotas: used against limit, and the chart labelled honestly.
  const limits = await admin.limits.get.query();
  await open(page, '/quotas', 'Quotas', 'Usage');
  const instances = page.getByRole('meter', { name: 'Instances' });
  // Others may launch servers meanwhile: the limit is fixed, the usage is whatever it is now.
  const limit = limits.limits.instances < 0 ? 'unlimited' : String(limits.limits.instances);
  await expect(instances).toHaveAttribute('aria-valuetext', new RegExp(`^\\d+ of ${limit}$`));
  // Memory in binary units, as the API counts it.
  await expect(page.getByRole('meter', { name: 'RAM' })).toHaveAttribute('aria-valuetext', /^\d+ MiB of (\d+ MiB|unlimited)$/);
  await expect(page.getByRole('meter', { name: 'Key pairs (yours)' })).toHaveAttribute('aria-valuetext', /^0 of /);
  await expect(page.getByRole('img', { name: /^Instances and cores\. From \d\d:\d\d UTC until now: now \d+ instances? with \d+ cores?; at most / })).toBeVisible();
  await expect(page.getByText(/deleted ones included/)).toBeVisible();
  await expect(page.getByRole('heading', { name: "Edit a project's quotas" })).toHaveCount(0);
  await screenshot(page, 'quotas');

  // Phone width: the pages still fit.
  await page.setViewportSize({ width: 390, height: 800 });
  await open(page, '/images', 'Images', 'Images');
  await expect(page.getByRole('button', { name: 'Upload image' })).toBeVisible();
  await screenshot(page, 'images-phone');

  const user = (await admin.users.list.query()).find((u) => u.name === member.username);
  if (user) await admin.users.delete.mutate({ id: user.id });
});

test('an administrator creates a private flavor, shares it, and deletes it', async ({ page }) => {
  test.setTimeout(3 * 60_000);
  const flavorName = `res-flavor-${suffix()}`;
  await signIn(page, adminCredentials());
  await open(page, '/flavors', 'Flavors', 'Flavors');
  await page.getByRole('button', { name: 'Create flavor' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create flavor' });
  await dialog.getByLabel('Name').fill(flavorName);
  await dialog.getByLabel('vCPUs').fill('1');
  await dialog.getByLabel('RAM (MiB)').fill('128');
  await dialog.getByLabel('Disk (GiB)').fill('1');
  await dialog.getByLabel(/^Public/).uncheck();
  await dialog.getByRole('button', { name: 'Create' }).click();
  await expect(dialog).toBeHidden();
  const row = page.getByRole('table', { name: 'Flavors' }).getByRole('row').filter({ hasText: flavorName });
  await expect(row).toContainText('128 MiB');
  await expect(row).toContainText('1 GiB');
  await expect(row).toContainText('no');

  await row.getByRole('button', { name: `Access to ${flavorName}` }).click();
  const access = page.getByRole('region', { name: `Access to ${flavorName}` });
  await access.getByLabel('Project').fill('admin');
  await access.getByRole('button', { name: 'Add access' }).click();
  await expect(access.getByRole('button', { name: `Remove admin from ${flavorName}` })).toBeVisible();
  await screenshot(page, 'flavors-admin');
  await access.getByRole('button', { name: `Remove admin from ${flavorName}` }).click();
  await expect(access.getByText('No project has access yet')).toBeVisible();

  await row.getByRole('button', { name: `Delete ${flavorName}` }).click();
  await page.getByRole('dialog', { name: `Delete flavor ${flavorName}` }).getByRole('button', { name: 'Delete flavor' }).click();
  await expect(row).toHaveCount(0);

  await open(page, '/quotas', 'Quotas', 'Usage');
  await expect(page.getByRole('heading', { name: "Edit a project's quotas" })).toBeVisible();
  await expect(page.getByRole('form', { name: 'Quotas of admin' }).getByLabel('Instances')).not.toHaveValue('');
  await screenshot(page, 'quotas-admin');
});

test('an upload that is not the declared format says why, and a cancelled one leaves no image behind', async ({ page }) => {
  test.setTimeout(3 * 60_000);
  const admin = await signInToApi(adminCredentials());
  const member = await createThrowawayUser(admin);
  await signIn(page, member);
  const file = test.info().outputPath('zeros.raw');
  writeFileSync(file, Buffer.alloc(4 * 1024 * 1024));
  await open(page, '/images', 'Images', 'Images');

  const wrongName = `res-wrong-${suffix()}`;
  await page.getByRole('button', { name: 'Upload image' }).click();
  const upload = page.getByRole('dialog', { name: 'Upload image' });
  await upload.getByLabel('Name').fill(wrongName);
  await upload.getByLabel('Disk format').selectOption('qcow2');
  await upload.getByLabel('Image file').setInputFiles(file);
  await upload.getByRole('button', { name: 'Upload', exact: true }).click();
  await expect(upload.getByRole('alert')).toContainText(/qcow2/, { timeout: 60_000 });
  await screenshot(page, 'images-upload-failed');
  const named = async () => (await admin.images.list.query({})).filter((i) => i.name === wrongName);
  const [first] = await named();
  expect(first).toMatchObject({ status: 'killed' });
  // Trying again replaces the killed image of the last try: one killed image, never one more per try.
  await upload.getByRole('button', { name: 'Upload', exact: true }).click();
  await expect
    .poll(async () => (await named()).map((i) => `${i.id === first!.id ? 'first' : 'retry'}:${i.status}`), { timeout: 60_000 })
    .toEqual(['retry:killed']);
  await expect(upload.getByRole('alert')).toContainText(/qcow2/);
  await upload.getByRole('button', { name: 'Cancel', exact: true }).click();
  const wrongRow = page.getByRole('table', { name: 'Images' }).getByRole('row').filter({ hasText: wrongName });
  await expect(wrongRow).toHaveCount(1);
  await wrongRow.getByRole('button', { name: `Delete ${wrongName}` }).click();
  await page.getByRole('dialog', { name: `Delete image ${wrongName}` }).getByRole('button', { name: 'Delete image' }).click();
  await expect(wrongRow).toHaveCount(0);

  // A slow link, so that there is time to cancel.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 256 * 1024 });
  const slowName = `res-slow-${suffix()}`;
  await page.getByRole('button', { name: 'Upload image' }).click();
  await upload.getByLabel('Name').fill(slowName);
  await upload.getByLabel('Disk format').selectOption('raw');
  await upload.getByLabel('Image file').setInputFiles(file);
  await upload.getByRole('button', { name: 'Upload', exact: true }).click();
  await expect(upload.getByRole('progressbar', { name: `Uploading ${slowName}` })).toBeVisible();
  await upload.getByRole('button', { name: 'Cancel upload' }).click();
  await expect(upload.getByRole('alert')).toContainText('the queued image was deleted');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await upload.getByRole('button', { name: 'Cancel', exact: true }).click();
  await expect(page.getByRole('table', { name: 'Images' }).getByRole('row').filter({ hasText: slowName })).toHaveCount(0);

  const user = (await admin.users.list.query()).find((u) => u.name === member.username);
  if (user) await admin.users.delete.mutate({ id: user.id });
});

test('a reader sees the resources but every change is disabled with the reason', async ({ page }) => {
  test.setTimeout(2 * 60_000);
  const admin = await signInToApi(adminCredentials());
  const reader = { username: `res-reader-${suffix()}`, password: randomUUID() };
  await admin.users.create.mutate({ name: reader.username, password: reader.password, project: 'admin', role: 'reader' });
  try {
    await signIn(page, reader);
    const why = 'Your role reader can only look';
    await open(page, '/images', 'Images', 'Images');
    await expect(page.getByRole('button', { name: 'Upload image' })).toHaveAttribute('title', why);
    await expect(page.getByRole('button', { name: 'Delete aster-tiny' })).toBeDisabled();
    await open(page, '/keypairs', 'Key pairs', 'Key pairs');
    await expect(page.getByRole('button', { name: 'Import key pair' })).toHaveAttribute('title', why);
    await open(page, '/networks', 'Networks', 'Networks');
    await expect(page.getByRole('button', { name: 'Create network' })).toBeDisabled();
    await expect(page.getByRole('button', { name: 'Create network' })).toHaveAttribute('title', why);
  } finally {
    const user = (await admin.users.list.query()).find((u) => u.name === reader.username);
    if (user) await admin.users.delete.mutate({ id: user.id });
  }
});

test('the quota chart ends now and counts a server deleted since, for as long as it existed', async ({ page }) => {
  test.setTimeout(3 * 60_000);
  const admin = await signInToApi(adminCredentials());
  const project = await createProject(admin, 'e2e-quota');
  const member = await createMemberOf(admin, 'e2e-quota', [project]);
  await admin.quotas.set.mutate({ project: project.id, limits: { ramMb: -1 } });
  // More memory than any host has, so the server finds no host and ends in ERROR at once; it holds quota all the same.
  const hosts = await admin.hypervisors.list.query();
  const flavor = await admin.flavors.create.mutate({ name: `res-quota-${suffix()}`, vcpus: 2, ramMb: Math.max(...hosts.map((h) => h.ramMb.total)) + 1024, diskGb: 1 });
  try {
    const client = await signInToApi(member, project.name);
    const image = (await client.images.list.query({})).find((i) => i.name === 'aster-tiny')!;
    const [server] = await client.servers.create.mutate({ name: `res-quota-${suffix()}`, flavorId: flavor.id, imageId: image.id });
    await reachStatus(client, server!.id, 'ERROR', 60_000);
    await deleteServer(client, server!.id);
    // The API's record has it, deleted, with when it existed.
    const history = await client.limits.history.query({ since: new Date(Date.now() - 3600_000).toISOString() });
    expect(history.servers).toEqual([expect.objectContaining({ id: server!.id, vcpus: 2, deletedAt: expect.any(String) })]);

    await signIn(page, member);
    await open(page, '/quotas', 'Quotas', 'Usage');
    const chart = page.getByRole('img', { name: /^Instances and cores\./ });
    await expect(chart).toHaveAccessibleName(/until now: now 0 instances with 0 cores; at most 1 instance with 2 cores\.$/);
    await expect(chart.getByText('now', { exact: true })).toBeVisible();
    await screenshot(page, 'quotas-history');
  } finally {
    await admin.flavors.delete.mutate({ id: flavor.id }).catch(() => undefined);
    await removeProjects(admin, [member], [project]);
  }
});
