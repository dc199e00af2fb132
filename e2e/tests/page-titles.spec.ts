import { expect, test } from '../helpers/fixtures.ts';
import { signIn } from '../helpers/session.ts';

/** Every page's title names the page once, then the app: "Instances · Aster" (it once read "Instances · Aster · Aster"). */
const PAGES: [path: string, title: string][] = [
  ['/', 'Overview'],
  ['/servers', 'Instances'],
  ['/server-groups', 'Server groups'],
  ['/images', 'Images'],
  ['/keypairs', 'Key pairs'],
  ['/flavors', 'Flavors'],
  ['/networks', 'Networks'],
  ['/quotas', 'Quotas'],
  ['/credentials', 'Application credentials'],
  ['/admin/hypervisors', 'Hypervisors'],
  ['/admin/aggregates', 'Aggregates'],
  ['/admin/services', 'Services'],
  ['/admin/servers', 'All instances'],
  ['/admin/projects', 'Projects'],
  ['/admin/users', 'Users'],
];

test('each page is titled "<Page> · Aster", sign-in included', async ({ page, admin }) => {
  test.setTimeout(3 * 60_000);
  await page.goto('/login');
  await expect(page).toHaveTitle('Sign in · Aster');
  await signIn(page, admin);
  for (const [path, title] of PAGES) {
    await page.goto(path, { timeout: 60_000 });
    await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible({ timeout: 60_000 });
    await expect(page, `the title of ${path}`).toHaveTitle(`${title} · Aster`);
  }
});
