import { expect, test } from '../helpers/fixtures.ts';
import { at, signedInAs, signInError, signOut, submitSignIn } from '../helpers/session.ts';

test('the sign-in form is labelled for assistive technology', async ({ page }) => {
  await page.goto('/login');
  await expect(page.getByLabel('Username')).toBeVisible();
  await expect(page.getByLabel('Username')).toHaveAttribute('autocomplete', 'username');
  await expect(page.getByLabel('Password')).toHaveAttribute('type', 'password');
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeEnabled();
});

test('a wrong password is refused with a reason and the username kept', async ({ page, throwawayUser }) => {
  await page.goto('/login');
  await submitSignIn(page, { ...throwawayUser, password: `${throwawayUser.password}-wrong` });

  await expect(signInError(page)).toContainText('Invalid username or password');
  await expect(page).toHaveURL(at('/login'));
  await expect(page.getByLabel('Username')).toHaveValue(throwawayUser.username);
  await expect(page.getByLabel('Password')).toHaveValue('');

  await submitSignIn(page, throwawayUser);
  await expect(page).toHaveURL(at('/'));
  await expect(signedInAs(page, throwawayUser.username)).toBeVisible();
});

test('after sign-in the console returns to the page asked for, never to another site', async ({
  page,
  throwawayUser,
}) => {
  await page.goto('/login?next=%2F%2Fexample.com%2F');
  await submitSignIn(page, throwawayUser);
  await expect(page).toHaveURL(at('/'));

  await signOut(page);
  await page.goto('/login?next=%2Fnowhere%3Fx%3D1');
  await submitSignIn(page, throwawayUser);
  await expect(page).toHaveURL(at('/nowhere?x=1'));
});
