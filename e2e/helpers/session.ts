import { expect, type Browser, type Page } from '@playwright/test';
import { webUrl } from '../env.ts';
import type { Credentials } from './api.ts';

export const SESSION_COOKIE = 'aster_session';

/**
 * Matches the page URL exactly, on the console's own origin: a redirect that switched hosts
 * (127.0.0.1 to localhost) would lose the session cookie, so it counts as a failure.
 */
export function at(pathAndQuery: string): RegExp {
  const expected = new URL(webUrl()).origin + pathAndQuery;
  return new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

/** Fills and submits the sign-in form on the current page (which must be /login). */
export async function submitSignIn(page: Page, { username, password }: Credentials): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs in from /login and waits for the console to show the user. */
export async function signIn(page: Page, credentials: Credentials): Promise<void> {
  if (!new URL(page.url()).pathname.startsWith('/login')) await page.goto('/login');
  await submitSignIn(page, credentials);
  await expect(signedInAs(page, credentials.username)).toBeVisible();
}

/** The sign-in form's error. (Next's route announcer is also role=alert, outside <main>.) */
export function signInError(page: Page) {
  return page.getByRole('main').getByRole('alert');
}

export function signedInAs(page: Page, username: string) {
  return page.getByText(`Signed in as ${username} (`);
}

export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(at('/login'));
}

/** The session token the console stored in the browser, if any. */
export async function sessionToken(page: Page): Promise<string | undefined> {
  const cookies = await page.context().cookies();
  return cookies.find((cookie) => cookie.name === SESSION_COOKIE)?.value;
}

/** A page of its own (a new browser context at 1280×800) signed in as `user`. */
export async function newSignedInPage(browser: Browser, user: Credentials): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signIn(page, user);
  return page;
}
