import { randomUUID } from 'node:crypto';
import { login } from '@aster/client';
import type { Page } from '@playwright/test';
import { apiUrl } from '../env.ts';
import type { AsterClient, Credentials } from '../helpers/api.ts';
import { expect, test } from '../helpers/fixtures.ts';
import { deleteServer } from '../helpers/guest.ts';
import { signIn } from '../helpers/session.ts';
import { notification } from '../helpers/toasts.ts';

// The first request of a page compiles it when the console runs in dev mode.
const FIRST_LOAD = { timeout: 60_000 };
const unique = () => `e2e-adm-${randomUUID().slice(0, 8)}`;

async function open(page: Page, path: string, heading: string) {
  await page.goto(path, FIRST_LOAD);
  await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible(FIRST_LOAD);
}

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

async function deleteUserNamed(api: AsterClient, name: string) {
  const user = (await api.users.list.query()).find((u) => u.name === name);
  if (user) await api.users.delete.mutate({ id: user.id });
}

test('the hypervisors page shows each host with its type and usage bars', async ({ page, admin, adminApi }) => {
  const [host] = await adminApi.hypervisors.list.query();
  expect(host, 'a compute agent has registered').toBeDefined();
  await signIn(page, admin);
  await open(page, '/admin/hypervisors', 'Hypervisors');

  const card = page.getByRole('article', { name: host!.host });
  await expect(card).toBeVisible();
  await expect(card.getByText(/^(qemu|kvm)/)).toBeVisible();
  for (const resource of ['vCPU', 'RAM', 'Disk']) await expect(card.getByRole('meter', { name: `${resource} usage` })).toBeVisible();
  await expect(card.getByText('Running VMs')).toBeVisible();
  await screenshot(page, 'hypervisors');
});

test('an admin disables the compute service with a reason and enables it again', async ({ page, admin, adminApi }) => {
  const compute = (await adminApi.services.list.query()).find((s) => s.binary === 'aster-compute');
  expect(compute, 'a compute service is registered').toBeDefined();
  const { id, host } = compute!;
  const label = `aster-compute on ${host}`;
  const reason = `maintenance ${unique()}`;
  try {
    await signIn(page, admin);
    await open(page, '/admin/services', 'Services');
    const row = page.getByRole('row', { name: label });
    await expect(row).toContainText('enabled');

    await row.getByRole('button', { name: `Disable ${label}` }).click();
    const dialog = page.getByRole('dialog', { name: `Disable ${label}` });
    await dialog.getByLabel('Reason').fill(reason);
    await dialog.getByRole('button', { name: 'Disable' }).click();
    await expect(dialog).toBeHidden();
    await expect(notification(page, `Disabled ${label}`)).toBeVisible();
    await expect(row).toContainText('disabled');
    await expect(row).toContainText(reason);
    await screenshot(page, 'services-disabled');

    await open(page, '/admin/hypervisors', 'Hypervisors');
    await expect(page.getByRole('article', { name: host })).toContainText(reason);

    await open(page, '/admin/services', 'Services');
    await row.getByRole('button', { name: `Enable ${label}` }).click();
    await expect(notification(page, `Enabled ${label}`)).toBeVisible();
    await expect(row).toContainText('enabled');
    await expect(row).not.toContainText(reason);
    await screenshot(page, 'services');
  } finally {
    // Other tests need the host.
    const now = (await adminApi.services.list.query()).find((s) => s.id === id);
    if (now?.state === 'disabled') await adminApi.services.enable.mutate({ id });
  }
});

test('an admin creates a project and a member user, sees them listed, and deletes both', async ({ page, admin, adminApi }) => {
  const project = unique();
  const user = unique();
  try {
    await signIn(page, admin);
    await open(page, '/admin/projects', 'Projects');
    await page.getByLabel('Project name').fill(project);
    await page.getByLabel('Description').fill('made by the admin pages test');
    await page.getByRole('button', { name: 'Create project' }).click();
    await expect(page.getByRole('row').filter({ hasText: project })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Delete project admin' })).toBeDisabled();
    await screenshot(page, 'projects');

    await open(page, '/admin/users', 'Users');
    await page.getByLabel('User name').fill(user);
    await page.getByLabel('Password', { exact: true }).fill(`pw-${randomUUID()}`);
    const form = page.getByRole('form', { name: 'Create a user' });
    await form.getByLabel('Project').selectOption(project);
    await form.getByLabel('Role').selectOption('member');
    await form.getByRole('button', { name: 'Create user' }).click();
    const row = page.getByRole('row').filter({ hasText: user }).first();
    await expect(row).toContainText(`member on ${project}`);

    await page.getByRole('button', { name: `Roles and password of ${user}` }).click();
    const roles = page.getByRole('region', { name: `Roles of ${user}` });
    await expect(roles.getByRole('listitem').filter({ hasText: `member on ${project}` })).toBeVisible();
    const grant = roles.getByRole('form', { name: `Grant a role to ${user}` });
    await grant.getByLabel('Project').selectOption(project);
    await grant.getByLabel('Role').selectOption('reader');
    await grant.getByRole('button', { name: 'Grant role' }).click();
    await expect(roles.getByRole('listitem').filter({ hasText: `reader on ${project}` })).toBeVisible();
    await roles.getByRole('button', { name: `Revoke reader on ${project} from ${user}` }).click();
    await page.getByRole('dialog', { name: `Revoke reader on ${project} from ${user}` }).getByRole('button', { name: 'Revoke' }).click();
    await expect(roles.getByRole('listitem').filter({ hasText: `reader on ${project}` })).toHaveCount(0);
    await screenshot(page, 'users');

    await page.getByRole('button', { name: `Delete user ${user}` }).click();
    await page.getByRole('dialog', { name: `Delete user ${user}` }).getByRole('button', { name: 'Delete user' }).click();
    await expect(page.getByRole('row').filter({ hasText: user })).toHaveCount(0);

    await open(page, '/admin/projects', 'Projects');
    await page.getByRole('button', { name: `Delete project ${project}` }).click();
    await page.getByRole('dialog', { name: `Delete project ${project}` }).getByRole('button', { name: 'Delete project' }).click();
    await expect(page.getByRole('row').filter({ hasText: project })).toHaveCount(0);
  } finally {
    await deleteUserNamed(adminApi, user);
    const left = (await adminApi.projects.list.query()).find((p) => p.name === project);
    if (left) await adminApi.projects.delete.mutate({ id: left.id });
  }
});

test('all instances stay live: a new server appears, turns active and goes away without a reload', async ({ page, admin, adminApi }) => {
  test.setTimeout(4 * 60_000);
  const image = (await adminApi.images.list.query({})).find((i) => i.name === 'aster-tiny' && i.status === 'active');
  const tiny = (await adminApi.flavors.list.query({})).find((f) => f.name === 'm1.tiny');
  expect(image && tiny, 'the image aster-tiny and the flavor m1.tiny exist').toBeTruthy();
  await signIn(page, admin);
  await open(page, '/admin/servers', 'All instances');
  await expect(page.getByRole('table', { name: 'All instances' })).toBeVisible();

  const name = unique();
  let id: string | undefined;
  try {
    const [created] = await adminApi.servers.create.mutate({ name, flavorId: tiny!.id, imageId: image!.id });
    id = created!.id;
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name }) });
    await expect(row).toBeVisible({ timeout: 30_000 });
    await expect(row).toContainText('admin');
    await expect(row).toContainText('m1.tiny');
    await expect(row.getByRole('cell').nth(2)).toHaveText('ACTIVE', { timeout: 150_000 });
    await expect(page.getByRole('link', { name })).toHaveAttribute('href', `/servers/${id}`);
    await screenshot(page, 'all-instances');

    await adminApi.servers.delete.mutate({ id });
    await expect(row).toHaveCount(0, { timeout: 120_000 });
  } finally {
    if (id) await deleteServer(adminApi, id);
  }
});

test('the admin pages fit a phone', async ({ page, admin }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, admin);
  for (const [path, heading] of [
    ['/admin/services', 'Services'],
    ['/admin/users', 'Users'],
  ] as const) {
    await open(page, path, heading);
    await expect(page.getByRole('table')).toBeVisible();
    // Wide tables scroll inside their frame; the page itself does not scroll sideways.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshot(page, `phone-${heading.toLowerCase()}`);
  }
});

test.describe('as a member', () => {
  let member: Credentials | undefined;
  test.afterEach(async ({ adminApi }) => {
    if (member) await deleteUserNamed(adminApi, member.username);
  });

  test('a member is told the admin pages are for administrators', async ({ page, throwawayUser }) => {
    member = throwawayUser;
    await signIn(page, throwawayUser);
    await open(page, '/admin/hypervisors', 'Hypervisors');
    await expect(page.getByRole('main').getByRole('alert')).toContainText('This page is for cloud administrators');
    await expect(page.getByRole('meter')).toHaveCount(0);
    await screenshot(page, 'admin-forbidden');
  });

  test('a user creates an application credential, sees its secret once, and revokes it', async ({ page, throwawayUser }) => {
    member = throwawayUser;
    const name = unique();
    await signIn(page, throwawayUser);
    await open(page, '/credentials', 'Application credentials');

    await page.getByRole('button', { name: 'Create application credential' }).click();
    const create = page.getByRole('dialog', { name: 'Create an application credential' });
    await create.getByLabel('Name').fill(name);
    await create.getByLabel('Description').fill('for the admin pages test');
    await create.getByLabel('Role').selectOption('reader');
    await create.getByRole('button', { name: 'Create' }).click();

    const shown = page.getByRole('dialog', { name: `Application credential ${name} created` });
    await expect(shown).toContainText('This secret is shown once');
    await expect(shown.getByRole('button', { name: 'Copy' })).toBeVisible();
    const secret = (await shown.getByLabel('Secret').textContent()) ?? '';
    expect(secret).toMatch(/^asc_/);
    const credentialId = (await shown.locator('code').first().textContent()) ?? '';
    await screenshot(page, 'credential-secret');
    await shown.getByRole('button', { name: 'Close' }).click();
    await expect(shown).toBeHidden();

    const row = page.getByRole('row').filter({ hasText: name });
    await expect(row).toContainText('reader');
    await expect(row).toContainText('active');
    await expect(page.getByText(secret)).toHaveCount(0);
    // The secret shown is the one that signs in.
    await expect(login({ url: apiUrl(), credentialId, secret })).resolves.toHaveProperty('token');

    await row.getByRole('button', { name: `Revoke ${name}` }).click();
    await page.getByRole('dialog', { name: `Revoke application credential ${name}` }).getByRole('button', { name: 'Revoke' }).click();
    await expect(row).toContainText('revoked');
    await expect(row.getByRole('button', { name: `Revoke ${name}` })).toBeDisabled();
    await screenshot(page, 'credentials');
    await expect(login({ url: apiUrl(), credentialId, secret })).rejects.toThrow();
  });
});
