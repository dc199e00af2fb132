/**
 * Where to send the user after signing in. Only a path on this site is accepted: anything else
 * (`//host`, `/\host`, `https://…`, control characters) falls back to `/` so the login form
 * can't be used as an open redirect.
 */
export function safeNextPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/')) return '/';
  if (value.startsWith('//') || value.startsWith('/\\')) return '/';
  // Browsers strip tabs and newlines from URLs, which can turn `/\t/host` into `//host`.
  if ([...value].some((ch) => ch < ' ' || ch === '\x7f')) return '/';
  return value;
}

/** The login URL that returns to `path` afterwards. */
export function loginPath(path: string): string {
  return path === '/login' ? path : `/login?next=${encodeURIComponent(path)}`;
}
