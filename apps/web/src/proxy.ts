import { type NextRequest, NextResponse } from 'next/server';
import { loginPath } from './lib/next-path';
import { PATH_HEADER, SESSION_COOKIE } from './lib/session-cookie';

// Pages reachable without a session. Everything else needs the cookie; whether its token is still
// valid is for the page to find out, since only the API can tell. Calls under /api/ are carried on to the
// API, which answers UNAUTHORIZED itself (a redirect would mean nothing to a script's fetch).
const PUBLIC_PREFIXES = ['/login', '/session/', '/api/'];

function isPublic(pathname: string): boolean {
  return PUBLIC_PREFIXES.some(
    (prefix) => pathname === prefix || pathname.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`),
  );
}

export function proxy(request: NextRequest): NextResponse {
  const { pathname, search } = request.nextUrl;
  // Layouts are not told the path; sign-in needs it to come back to the same page.
  const headers = new Headers(request.headers);
  headers.set(PATH_HEADER, pathname + search);
  if (isPublic(pathname) || request.cookies.has(SESSION_COOKIE)) return NextResponse.next({ request: { headers } });
  return NextResponse.redirect(new URL(loginPath(pathname + search), request.url));
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon\\.ico|icon\\.svg).*)'],
};
