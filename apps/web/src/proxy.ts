import { type NextRequest, NextResponse } from 'next/server';
import { loginPath } from './lib/next-path';
import { SESSION_COOKIE } from './lib/session-cookie';

// Pages reachable without a session. Everything else needs the cookie; whether its token is still
// valid is for the page to find out, since only the API can tell.
const PUBLIC_PREFIXES = ['/login', '/session/'];

function isPublic(pathname: string): boolean {
  return PUBLIC_PREFIXES.some(
    (prefix) => pathname === prefix || pathname.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`),
  );
}

export function proxy(request: NextRequest): NextResponse {
  const { pathname, search } = request.nextUrl;
  if (isPublic(pathname) || request.cookies.has(SESSION_COOKIE)) return NextResponse.next();
  return NextResponse.redirect(new URL(loginPath(pathname + search), request.url));
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon\\.ico|icon\\.svg).*)'],
};
