import { clientForToken } from '../helpers/api.ts';
import { expect, test } from '../helpers/fixtures.ts';
import { at, sessionToken, signedInAs, signIn, signOut, submitSignIn } from '../helpers/session.ts';

test('signed out, the console asks to sign in; signing in and out works', async ({ page, admin }) => {
  await page.goto('/');
  await expect(page).toHaveURL(at('/login?next=%2F'));

  await submitSignIn(page, admin);
  await expect(page).toHaveURL(at('/'));
  await expect(signedInAs(page, 'admin')).toHaveText('Signed in as admin (project admin)');

  await page.reload();
  await expect(signedInAs(page, 'admin')).toBeVisible();

  await signOut(page);
  expect(await sessionToken(page)).toBeUndefined();
  await page.goto('/');
  await expect(page).toHaveURL(at('/login?next=%2F'));
});

test('a session revoked on the server leads back to sign-in', async ({ page, admin }) => {
  await signIn(page, admin);
  const token = await sessionToken(page);
  expect(token, 'the console stores the session token in a cookie').toBeTruthy();

  await clientForToken(token ?? '').auth.logout.mutate();
  await page.reload();
  await expect(page).toHaveURL(at('/login?next=%2F'));
  expect(await sessionToken(page), 'the stale cookie is cleared').toBeUndefined();

  await submitSignIn(page, admin);
  await expect(page).toHaveURL(at('/'));
  await expect(signedInAs(page, 'admin')).toBeVisible();
});
