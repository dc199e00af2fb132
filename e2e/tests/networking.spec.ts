import { randomUUID } from 'node:crypto';
import { adminCredentials, signInToApi, type AsterClient } from '../helpers/api.ts';
import { expect, test } from '../helpers/fixtures.ts';
import { consoleShows, deleteServer, reachStatus } from '../helpers/guest.ts';
import { launchThroughDialog, openInstances, serverRow } from '../helpers/instances.ts';
import { openSection, shot, sshBanner, topologyNode } from '../helpers/networking.ts';
import { createMemberOf, createProject, removeProjects, type TestProject } from '../helpers/projects.ts';
import { newSignedInPage, signIn } from '../helpers/session.ts';

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

/**
 * A real guest on the newcomer's own network, all from the console: launched from the Launch dialog with a
 * security group of the project, its port bound by OVN (ACTIVE, live), a floating IP associated from its page,
 * and Test connectivity answering from OVN's tracing: SSH from the host dropped naming the groups, allowed once
 * a rule lets TCP 22 in (and then the guest's SSH server does answer there), and another port still dropped.
 */
test('a guest launched on a project network gets its port, a floating IP and an explained reachability', async ({ page, browser, adminApi }) => {
  test.setTimeout(6 * 60_000);
  const project: TestProject = await createProject(adminApi, 'e2e-conn');
  const user = await createMemberOf(adminApi, 'e2e-conn', [project]);
  const suffix = randomUUID().slice(0, 6);
  const net = `lan-${suffix}`;
  const group = `web-${suffix}`;
  const name = `conn-${suffix}`;
  const shots = (shotName: string) => test.info().outputPath(`connectivity-${shotName}.png`);
  const member = await signInToApi(user, project.name);
  let serverId: string | undefined;
  try {
    // What a newcomer has made by now (the test above makes it through the pages): a routed network and a group.
    const network = await member.networks.create.mutate({ name: net, subnet: { cidr: '10.44.0.0/24' } });
    const external = (await member.networks.list.query()).find((n) => n.name === 'public' && n.external);
    expect(external, 'the launcher seeds public as an external network').toBeDefined();
    const router = await member.routers.create.mutate({ name: `router-${suffix}`, externalGateway: { networkId: external!.id } });
    await member.routers.addInterface.mutate({ routerId: router.id, subnetId: network.subnets[0]!.id });
    const web = await member.securityGroups.create.mutate({ name: group, description: 'what the web servers let in' });

    await page.setViewportSize({ width: 1280, height: 900 });
    await signIn(page, user);
    await openInstances(page);
    await launchThroughDialog(page, name, async (dialog) => {
      await dialog.getByLabel('Network', { exact: true }).selectOption({ label: net });
      const groups = dialog.getByRole('group', { name: 'Security groups' });
      await expect(groups.getByRole('checkbox', { name: 'default', exact: true })).toBeChecked();
      await groups.getByRole('checkbox', { name: group, exact: true }).check();
      await shot(page, shots('launch'));
    });
    const row = serverRow(page, name);
    await expect(row).toBeVisible();
    serverId = (await member.servers.list.query({ name })).servers.find((s) => s.name === name)!.id;
    await row.getByRole('link', { name, exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();

    // Its port on the network, in both groups, turns ACTIVE on the page once OVN binds it.
    const ports = page.getByRole('table', { name: 'Ports' });
    const port = ports.getByRole('row').filter({ hasText: net });
    await expect(port).toContainText(/10\.44\.0\.\d+/, { timeout: 60_000 });
    await expect(port).toContainText(group);
    await expect(port).toContainText('default');
    await expect(port.getByText('ACTIVE', { exact: true })).toBeVisible({ timeout: 150_000 });
    await reachStatus(member, serverId, 'ACTIVE');

    // A floating IP, allocated from public and associated from the server's page.
    await port.getByRole('button', { name: /^Associate a floating IP with/ }).click();
    const associate = page.getByRole('dialog', { name: `Associate a floating IP with ${name}` });
    await expect(associate.getByLabel('Floating IP')).toHaveValue(/.+/);
    await associate.getByRole('button', { name: 'Associate', exact: true }).click();
    await expect(associate).toBeHidden();
    await expect(port).toContainText(/192\.168\.122\.\d+/);
    const fip = (await member.floatingIps.list.query()).find((f) => f.server?.id === serverId)!.floatingIp;
    await expect(port).toContainText(fip);

    // From the host (192.168.122.1, the form's default) to the server on TCP 22: no rule lets it in yet.
    const form = page.getByRole('form', { name: 'Test connectivity' });
    await expect(form.getByLabel('Source')).toHaveValue('outside');
    await expect(form.getByLabel('Address outside')).toHaveValue('192.168.122.1');
    await form.getByRole('button', { name: 'Test', exact: true }).click();
    const verdict = page.getByRole('status', { name: 'Connectivity verdict' });
    await expect(verdict).toContainText('Dropped');
    await expect(verdict).toContainText(new RegExp(`dropped by security groups .*${group}.* of server ${name}: no ingress rule allows tcp/22`, 'i'));
    await expect(verdict.getByRole('list', { name: 'Path' })).toContainText('network public');
    await expect(verdict.getByText(/ovn-trace output/)).toHaveCount(0);
    await shot(page, shots('dropped'));

    // A port the form refuses before asking.
    await form.getByLabel('Port').fill('70000');
    await form.getByRole('button', { name: 'Test', exact: true }).click();
    await expect(form.getByText('Port must be a whole number from 1 to 65535')).toBeVisible();

    // SSH let in by the group's rule: allowed through the floating IP and the router, and the guest's SSH server answers there.
    await member.securityGroups.addRule.mutate({ securityGroupId: web.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: '0.0.0.0/0', remoteGroupId: null });
    await form.getByLabel('Port').fill('22');
    await form.getByRole('button', { name: 'Test', exact: true }).click();
    await expect(verdict).toContainText('Allowed');
    await expect(verdict).toContainText(`Allowed floating IP ${fip}`);
    await expect(verdict).toContainText(`to server ${name}`);
    const path = verdict.getByRole('list', { name: 'Path' });
    await expect(path).toContainText('network public');
    await expect(path).toContainText(`router router-${suffix}`);
    await expect(path).toContainText(`network ${net}`);
    await consoleShows(member, serverId, /aster-guest ready hostname=\S+ instance=\S+/);
    await expect.poll(() => sshBanner(fip), { timeout: 30_000, intervals: [1000] }).toMatch(/^SSH-2\.0-/);
    await shot(page, shots('allowed'));

    // Another port is still dropped, and the reason names the groups.
    await form.getByLabel('Port').fill('8080');
    await form.getByRole('button', { name: 'Test', exact: true }).click();
    await expect(verdict).toContainText(new RegExp(`dropped by security groups .*${group}.* of server ${name}: no ingress rule allows tcp/8080`, 'i'));

    // An administrator sees OVN's own trace as well, folded away.
    const adminPage = await newSignedInPage(browser, adminCredentials());
    try {
      await adminPage.setViewportSize({ width: 1280, height: 900 });
      await adminPage.goto(`/servers/${serverId}`);
      // The server is of another project: its ports are shown all the same.
      await expect(adminPage.getByRole('table', { name: 'Ports' })).toContainText(fip);
      await expect(adminPage.getByRole('table', { name: 'Ports' })).toContainText(group);
      const adminForm = adminPage.getByRole('form', { name: 'Test connectivity' });
      await adminForm.getByRole('button', { name: 'Test', exact: true }).click();
      const adminVerdict = adminPage.getByRole('status', { name: 'Connectivity verdict' });
      await expect(adminVerdict).toContainText('Allowed');
      await adminVerdict.getByText('ovn-trace output (administrators)').click();
      await expect(adminVerdict.locator('pre')).toContainText('ovn-trace');
      await shot(adminPage, shots('admin-trace'));
    } finally {
      await adminPage.context().close();
    }
  } finally {
    if (serverId) await deleteServer(member, serverId);
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
  for (const g of mine(await admin.securityGroups.list.query({ allProjects: true }))) if (g.name !== 'default') await admin.securityGroups.delete.mutate({ id: g.id }).catch(() => undefined);
}
