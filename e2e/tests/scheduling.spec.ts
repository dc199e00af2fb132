import { expect, test } from '../helpers/fixtures.ts';
import { deleteServer } from '../helpers/guest.ts';
import { createReader, openInstances, rowStatus, serverRow } from '../helpers/instances.ts';
import { groupRow, launchIntoGroup, openServerGroups } from '../helpers/scheduling.ts';
import { signIn } from '../helpers/session.ts';
import { notification } from '../helpers/toasts.ts';

/**
 * Server groups through the console, with a real guest on the stack's one compute host: a member keeps two
 * servers apart with an anti-affinity group; the first comes up in zone nova, the second cannot be placed, and
 * its page says which filter refused the host and why — without the host's name for the member, with it for
 * an administrator.
 */
test('a member’s anti-affinity group: the first member runs, the second fails and its page explains why', async ({ page, browser, throwawayUser, admin, adminApi }) => {
  test.setTimeout(8 * 60_000);
  const compute = (await adminApi.services.list.query()).filter((s) => s.binary === 'aster-compute');
  expect(compute, 'one compute host runs in the test stack').toHaveLength(1);
  const host = compute[0]!.host;
  const stamp = Date.now().toString(36);
  const group = `e2e-apart-${stamp}`;
  const first = `e2e-apart-1-${stamp}`;
  const second = `e2e-apart-2-${stamp}`;
  const shoot = (p: typeof page, name: string) => p.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });

  try {
    await signIn(page, throwawayUser);

    // The group, made in its dialog; the per-host limit is asked only for anti-affinity, and checked before sending.
    await openServerGroups(page);
    await page.getByRole('button', { name: 'Create server group' }).click();
    const create = page.getByRole('dialog', { name: 'Create server group' });
    await create.getByLabel('Name').fill(group);
    await create.getByLabel('Policy').selectOption({ label: 'Affinity' });
    await expect(create.getByLabel('Max servers per host')).toHaveCount(0);
    await create.getByLabel('Policy').selectOption({ label: 'Anti-affinity' });
    await create.getByLabel('Max servers per host').fill('0');
    await create.getByRole('button', { name: 'Create', exact: true }).click();
    await expect(create.getByText('Max servers per host must be a whole number, 1 or more')).toBeVisible();
    await create.getByLabel('Max servers per host').fill('');
    await create.getByRole('button', { name: 'Create', exact: true }).click();
    await expect(create).toBeHidden();
    await expect(notification(page, `Server group ${group} created`)).toBeVisible();
    const row = groupRow(page, group);
    await expect(row).toContainText('Anti-affinity');
    await expect(row).toContainText('1 per host');
    await expect(row).toContainText('None');

    // The first member, in zone nova: the only host takes it.
    await openInstances(page);
    await launchIntoGroup(page, first, { group, policy: 'Anti-affinity', zone: 'nova' });
    await expect(rowStatus(serverRow(page, first))).toHaveText('ACTIVE', { timeout: 150_000 });

    // The second member has nowhere to go.
    await launchIntoGroup(page, second, { group, policy: 'Anti-affinity', zone: 'nova' });
    const refused = serverRow(page, second);
    await expect(rowStatus(refused)).toHaveText('ERROR', { timeout: 60_000 });
    await refused.getByRole('link', { name: second, exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: new RegExp(second) })).toBeVisible({ timeout: 60_000 });
    const id = new URL(page.url()).pathname.split('/').at(-1)!;
    const overview = page.getByRole('tabpanel', { name: 'Overview' });
    await expect(overview.getByRole('link', { name: group })).toHaveAttribute('href', /^\/server-groups#group-/);
    const why = page.getByRole('region', { name: 'Why no host was found' });
    await expect(why).toContainText('ServerGroupAntiAffinity', { timeout: 30_000 });
    await expect(why).toContainText(/1 of 1 host removed/);
    await expect(why).toContainText(/already runs? a member/);
    await expect(why).not.toContainText(host);
    await shoot(page, 'scheduling-member-explanation');

    // The group lists both members, linked to their pages.
    await openServerGroups(page);
    await expect(row.getByRole('link', { name: first, exact: true })).toBeVisible();
    await expect(row.getByRole('link', { name: second, exact: true })).toHaveAttribute('href', `/servers/${id}`);
    await shoot(page, 'scheduling-groups');

    // An administrator reads the same explanation with the host's name.
    const adminContext = await browser.newContext();
    try {
      const adminPage = await adminContext.newPage();
      await signIn(adminPage, admin);
      await adminPage.goto(`/servers/${id}`, { timeout: 60_000 });
      const adminWhy = adminPage.getByRole('region', { name: 'Why no host was found' });
      await expect(adminWhy).toContainText('ServerGroupAntiAffinity', { timeout: 60_000 });
      await expect(adminWhy).toContainText(host);
      await expect(adminPage.getByRole('tabpanel', { name: 'Overview' }).getByRole('link', { name: group })).toBeVisible();
      await shoot(adminPage, 'scheduling-admin-explanation');
    } finally {
      await adminContext.close();
    }

    // Deleting the group says its members stay; afterwards the first member still runs.
    await page.getByRole('button', { name: `Delete ${group}` }).click();
    const confirm = page.getByRole('dialog', { name: `Delete server group ${group}` });
    await expect(confirm).toContainText('Its 2 members keep running where they are');
    await confirm.getByRole('button', { name: 'Delete server group' }).click();
    await expect(confirm).toBeHidden();
    await expect(row).toHaveCount(0);
    const firstId = (await adminApi.servers.list.query({ name: first, allProjects: true })).servers[0]!.id;
    expect((await adminApi.servers.get.query({ id: firstId })).status).toBe('ACTIVE');
  } finally {
    for (const name of [first, second]) {
      for (const s of (await adminApi.servers.list.query({ name, allProjects: true })).servers) await deleteServer(adminApi, s.id);
    }
    for (const g of await adminApi.serverGroups.list.query({ allProjects: true })) {
      if (g.name === group) await adminApi.serverGroups.delete.mutate({ id: g.id });
    }
  }
});

test('a reader sees the server groups but may not create or delete one', async ({ page, adminApi }) => {
  const name = `e2e-readonly-${Date.now().toString(36)}`;
  const created = await adminApi.serverGroups.create.mutate({ name, policy: 'soft-anti-affinity' });
  try {
    await signIn(page, await createReader(adminApi));
    await openServerGroups(page);
    await expect(groupRow(page, name)).toContainText('Soft anti-affinity');
    await expect(page.getByRole('button', { name: 'Create server group' })).toBeDisabled();
    await expect(page.getByRole('button', { name: 'Create server group' })).toHaveAttribute('title', 'Your role reader can only look');
    await expect(groupRow(page, name).getByRole('button', { name: `Delete ${name}` })).toBeDisabled();
  } finally {
    await adminApi.serverGroups.delete.mutate({ id: created.id });
  }
});

/**
 * The operator's side: the only host put into an aggregate with its own zone (seen on the hypervisors page and
 * in Launch instance), an aggregate with a host refused deletion, the host forced down (its zone then offered
 * as unavailable) and back, and everything undone.
 */
test('an admin zones the host through an aggregate, forces it down and back, and deletes the aggregate once empty', async ({ page, admin, adminApi }) => {
  test.setTimeout(4 * 60_000);
  const service = (await adminApi.services.list.query()).find((s) => s.binary === 'aster-compute')!;
  const host = service.host;
  const stamp = Date.now().toString(36);
  const aggregate = `e2e-rack-${stamp}`;
  const zone = `e2e-az-${stamp}`;
  const shoot = (name: string) => page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
  const row = () => page.getByRole('row', { name: `Aggregate ${aggregate}` });

  try {
    await signIn(page, admin);
    await page.goto('/admin/aggregates', { timeout: 60_000 });
    await expect(page.getByRole('heading', { level: 1, name: 'Aggregates' })).toBeVisible({ timeout: 60_000 });
    const create = page.getByRole('form', { name: 'Create an aggregate' });
    await create.getByLabel('Aggregate name').fill(aggregate);
    await create.getByLabel('Availability zone (optional)').fill(zone);
    await create.getByRole('button', { name: 'Create aggregate' }).click();
    await expect(row()).toContainText(zone);

    // The host joins it, and gets metadata to match flavors against.
    await row().getByRole('button', { name: `Manage ${aggregate}` }).click();
    const hosts = page.getByRole('region', { name: `Hosts of ${aggregate}` });
    await hosts.getByLabel('Host', { exact: true }).selectOption(host);
    await hosts.getByRole('button', { name: 'Add host' }).click();
    await expect(hosts.getByRole('button', { name: `Remove ${host} from ${aggregate}` })).toBeVisible();
    const metadata = page.getByRole('region', { name: `Metadata of ${aggregate}` });
    await metadata.getByLabel('Key', { exact: true }).fill('ssd');
    await metadata.getByLabel('Value', { exact: true }).fill('true');
    await metadata.getByRole('button', { name: 'Set', exact: true }).click();
    await expect(row()).toContainText('ssd = true');
    await expect(row()).toContainText(host);
    await shoot('aggregates');

    // Not deleted while it has a host: the API's reason is shown in the dialog.
    await row().getByRole('button', { name: `Delete aggregate ${aggregate}` }).click();
    const confirm = page.getByRole('dialog', { name: `Delete aggregate ${aggregate}` });
    await confirm.getByRole('button', { name: 'Delete aggregate' }).click();
    await expect(confirm.getByRole('alert')).toContainText(`Aggregate ${aggregate} still has 1 host: remove them first`);
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await expect(confirm).toBeHidden();

    await page.goto('/admin/hypervisors');
    const card = page.getByRole('article', { name: host });
    await expect(card).toContainText(zone);
    await expect(card).toContainText(aggregate);
    await expect(card).toContainText('Failed builds');

    // Forced down: the zone is still offered at launch, marked unavailable and not choosable.
    await page.goto('/admin/services');
    await page.getByRole('button', { name: `Force down ${host}` }).click();
    const force = page.getByRole('dialog', { name: `Force down ${host}` });
    await expect(force).toContainText('place no new instance on it');
    await force.getByRole('button', { name: 'Force down' }).click();
    await expect(force).toBeHidden();
    const serviceRow = page.getByRole('row', { name: `aster-compute on ${host}` });
    await expect(serviceRow).toContainText('forced down');
    await shoot('services-forced-down');
    await page.goto('/admin/hypervisors');
    await expect(page.getByRole('article', { name: host })).toContainText('forced down');

    await openInstances(page);
    await page.getByRole('button', { name: 'Launch instance' }).click();
    const launch = page.getByRole('dialog', { name: 'Launch instance' });
    const option = launch.getByRole('option', { name: `${zone} (unavailable)` });
    await expect(option).toBeAttached({ timeout: 30_000 });
    await expect(option).toBeDisabled();
    await shoot('launch-zone-unavailable');
    await launch.getByRole('button', { name: 'Cancel' }).click();

    await page.goto('/admin/services');
    await page.getByRole('button', { name: `Clear forced down on ${host}` }).click();
    await page.getByRole('dialog', { name: `Clear forced down on ${host}` }).getByRole('button', { name: 'Clear forced down' }).click();
    await expect(page.getByRole('button', { name: `Force down ${host}` })).toBeVisible();
    await expect(serviceRow).not.toContainText('forced down');

    // Emptied, it goes.
    await page.goto('/admin/aggregates');
    await row().getByRole('button', { name: `Manage ${aggregate}` }).click();
    await page.getByRole('region', { name: `Hosts of ${aggregate}` }).getByRole('button', { name: `Remove ${host} from ${aggregate}` }).click();
    await expect(row()).toContainText('none');
    await row().getByRole('button', { name: `Delete aggregate ${aggregate}` }).click();
    await page.getByRole('dialog', { name: `Delete aggregate ${aggregate}` }).getByRole('button', { name: 'Delete aggregate' }).click();
    await expect(row()).toHaveCount(0);
  } finally {
    await adminApi.services.forceDown.mutate({ id: service.id, forcedDown: false });
    for (const a of await adminApi.aggregates.list.query()) {
      if (a.name !== aggregate) continue;
      for (const h of a.hosts) await adminApi.aggregates.removeHost.mutate({ id: a.id, host: h });
      await adminApi.aggregates.delete.mutate({ id: a.id });
    }
  }
});
