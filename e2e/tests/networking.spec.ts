import { randomUUID } from 'node:crypto';
import type { AsterClient } from '../helpers/api.ts';
import { expect, test } from '../helpers/fixtures.ts';
import { openSection, shot, topologyNode } from '../helpers/networking.ts';
import { createMemberOf, createProject, removeProjects, type TestProject } from '../helpers/projects.ts';
import { signIn } from '../helpers/session.ts';

/**
 * A newcomer's way through the networking pages of a project of their own, never reloading: a network with a
 * subnet (after a refused gateway, with the API's reason), a router with its gateway on `public` and an
 * interface on that subnet, a security group rule for TCP 22, a floating IP; then all of it on the topology.
 */
test('a new member builds a network, a router, a rule and a floating IP, and sees them on the topology', async ({ page, adminApi }) => {
  test.setTimeout(3 * 60_000);
  const project: TestProject = await createProject(adminApi, 'e2e-net');
  const user = await createMemberOf(adminApi, 'e2e-net', [project]);
  const suffix = randomUUID().slice(0, 6);
  const net = `net-${suffix}`;
  const router = `router-${suffix}`;
  const shots = (name: string) => test.info().outputPath(`networking-${name}.png`);
  try {
    await page.setViewportSize({ width: 1280, height: 900 });
    await signIn(page, user);

    // A network whose gateway is outside its CIDR is refused, the API's reason naming the field in the form.
    await openSection(page, 'Networks');
    await page.getByRole('button', { name: 'Create network' }).click();
    const create = page.getByRole('dialog', { name: 'Create network' });
    await create.getByLabel('Name').fill(net);
    await create.getByLabel('Subnet CIDR').fill('10.42.0.0/24');
    await create.getByLabel('Gateway (optional)').fill('10.43.0.1');
    await create.getByLabel('DNS servers (optional)').fill('192.168.122.1');
    await create.getByRole('button', { name: 'Create' }).click();
    await expect(create.getByRole('alert')).toContainText(/gateway/i);
    await expect(create.getByRole('alert')).toContainText('10.43.0.1');
    await shot(page, shots('refused-gateway'));
    await create.getByLabel('Gateway (optional)').fill('10.42.0.1');
    await create.getByRole('button', { name: 'Create' }).click();
    await expect(create).toBeHidden();
    const row = page.getByRole('table', { name: 'Networks' }).getByRole('row').filter({ hasText: net });
    await expect(row).toContainText('10.42.0.0/24');

    // Its page: the subnet with DHCP and DNS, and the network's own ports.
    await row.getByRole('link', { name: net }).click();
    await expect(page.getByRole('heading', { level: 1, name: net })).toBeVisible();
    const subnets = page.getByRole('table', { name: 'Subnets' });
    await expect(subnets).toContainText('10.42.0.1');
    await expect(subnets).toContainText('192.168.122.1');
    await shot(page, shots('network'));

    // A router with its gateway on public, then an interface on the subnet: the network's page follows live.
    await openSection(page, 'Routers');
    await page.getByRole('button', { name: 'Create router' }).click();
    const createRouter = page.getByRole('dialog', { name: 'Create router' });
    await createRouter.getByLabel('Name').fill(router);
    await expect(createRouter.getByLabel('External network')).toHaveValue(/.+/);
    await createRouter.getByLabel('External network').selectOption({ label: 'public' });
    await createRouter.getByRole('button', { name: 'Create router' }).click();
    await expect(createRouter).toBeHidden();
    const routerRow = page.getByRole('table', { name: 'Routers' }).getByRole('row').filter({ hasText: router });
    await expect(routerRow).toContainText('public');
    await routerRow.getByRole('link', { name: router }).click();
    await expect(page.getByRole('heading', { level: 1, name: router })).toBeVisible();
    await expect(page).toHaveTitle(`Router ${router} · Aster`);
    await expect(page.getByText(/On public at 192\.168\.122\.\d+/)).toBeVisible();
    const addInterface = page.getByRole('form', { name: 'Add interface' });
    await addInterface.getByLabel('Subnet').selectOption({ label: `${net}: 10.42.0.0/24 (gateway 10.42.0.1)` });
    await addInterface.getByRole('button', { name: 'Add interface' }).click();
    await expect(page.getByRole('table', { name: 'Interfaces' })).toContainText('10.42.0.1');
    // A static route whose next hop is not a number is refused with the API's words.
    const addRoute = page.getByRole('form', { name: 'Add route' });
    await addRoute.getByLabel('Destination CIDR').fill('10.99.0.0/24');
    await addRoute.getByLabel('Next hop').fill('not-an-address');
    await addRoute.getByRole('button', { name: 'Add route' }).click();
    await expect(page.getByRole('main').getByRole('alert')).toContainText('not-an-address');
    await shot(page, shots('router'));

    // The default group gets TCP 22 from anywhere, by its preset; a port range 9000–80 is refused.
    await openSection(page, 'Security groups');
    await page.getByRole('table', { name: 'Security groups' }).getByRole('link', { name: 'default', exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'default' })).toBeVisible();
    const addRule = page.getByRole('form', { name: 'Add rule' });
    await addRule.getByLabel('Port from').fill('9000');
    await addRule.getByLabel('Port to').fill('80');
    await addRule.getByRole('button', { name: 'Add rule' }).click();
    await expect(addRule.getByRole('alert')).toContainText(/port/i);
    await addRule.getByRole('button', { name: 'SSH', exact: true }).click();
    await expect(addRule.getByLabel('Port from')).toHaveValue('22');
    await addRule.getByRole('button', { name: 'Add rule' }).click();
    const rules = page.getByRole('table', { name: 'Rules' });
    await expect(rules.getByRole('row').filter({ hasText: 'tcp 22' })).toContainText('0.0.0.0/0');
    await expect(addRule.getByRole('alert')).toHaveCount(0);
    await shot(page, shots('security-group'));

    // A floating IP from public.
    await openSection(page, 'Floating IPs');
    await page.getByRole('button', { name: 'Allocate floating IP' }).click();
    const allocate = page.getByRole('dialog', { name: 'Allocate floating IP' });
    await expect(allocate.getByLabel('External network')).toHaveValue(/.+/);
    await allocate.getByRole('button', { name: 'Allocate' }).click();
    await expect(allocate).toBeHidden();
    const ipRow = page.getByRole('table', { name: 'Floating IPs' }).getByRole('row').filter({ hasText: 'public' });
    await expect(ipRow).toContainText(/192\.168\.122\.\d+/);
    await expect(ipRow).toContainText('not associated');
    await shot(page, shots('floating-ips'));

    // The topology draws them: public, the router joined to it and to the network.
    await openSection(page, 'Network topology');
    await expect(topologyNode(page, 'External network', 'public')).toBeVisible();
    await expect(topologyNode(page, 'Router', router)).toHaveAccessibleName(/gateway 192\.168\.122\.\d+, 1 interface/);
    await expect(topologyNode(page, 'Network', net)).toHaveAccessibleName(/10\.42\.0\.0\/24/);
    const links = page.getByRole('list', { name: 'Connections' });
    await expect(links).toContainText(`Router ${router} has its gateway on public`);
    await expect(links).toContainText(`Router ${router} has an interface on ${net} (10.42.0.0/24) at 10.42.0.1`);
    await expect(page).toHaveTitle('Network topology · Aster');
    await shot(page, shots('topology'));

    // Live: an interface removed through the API is gone from the drawing without a reload.
    const api = (await adminApi.routers.list.query({ allProjects: true })).find((r) => r.name === router)!;
    await adminApi.routers.removeInterface.mutate({ routerId: api.id, subnetId: api.interfaces[0]!.subnetId });
    await expect(links).not.toContainText(`has an interface on ${net}`);
    await expect(topologyNode(page, 'Router', router)).toHaveAccessibleName(/0 interfaces/);

    // The node is a link to its page.
    await topologyNode(page, 'Network', net).click();
    await expect(page.getByRole('heading', { level: 1, name: net })).toBeVisible();
  } finally {
    await cleanUp(adminApi, project.id);
    await removeProjects(adminApi, [user], [project]);
  }
});

/** Deletes what the test made in its project, in the order the API allows. */
async function cleanUp(admin: AsterClient, projectId: string): Promise<void> {
  const mine = <T extends { projectId: string | null }>(list: T[]) => list.filter((x) => x.projectId === projectId);
  for (const ip of mine(await admin.floatingIps.list.query({ allProjects: true }))) await admin.floatingIps.delete.mutate({ id: ip.id }).catch(() => undefined);
  for (const r of mine(await admin.routers.list.query({ allProjects: true }))) {
    for (const f of r.interfaces) await admin.routers.removeInterface.mutate({ routerId: r.id, subnetId: f.subnetId }).catch(() => undefined);
    await admin.routers.delete.mutate({ id: r.id }).catch(() => undefined);
  }
  for (const n of mine(await admin.networks.list.query({ allProjects: true }))) await admin.networks.delete.mutate({ id: n.id }).catch(() => undefined);
}
