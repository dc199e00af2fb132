import { type NextRequest, NextResponse } from 'next/server';
import { isUnauthorized } from '@/lib/api-error';
import { loginPath, safeNextPath } from '@/lib/next-path';
import { apiClient } from '@/lib/session';
import { SESSION_COOKIE } from '@/lib/session-cookie';

/**
 * Pages land here when the API rejects the session token: clear the cookie and ask for a new sign-in.
 * The token is checked again first, so a link to this URL cannot sign out someone whose session is fine.
 */
export async function GET(request: NextRequest): Promise<NextResponse> {
  const next = safeNextPath(request.nextUrl.searchParams.get('next'));
  const token = request.cookies.get(SESSION_COOKIE)?.value;
  if (token && !(await isRejected(token))) return redirectTo(next);
  const response = redirectTo(loginPath(next));
  response.cookies.delete(SESSION_COOKIE);
  return response;
}

// A relative Location keeps the browser on the host it asked for; request.url may name another
// (Next reports `localhost` for a server bound to 127.0.0.1), and the session cookie is per host.
function redirectTo(path: string): NextResponse {
  return new NextResponse(null, { status: 303, headers: { Location: path } });
}

async function isRejected(token: string): Promise<boolean> {
  try {
    await apiClient(token).auth.whoami.query();
    return false;
  } catch (error) {
    // An unreachable API is not a verdict on the token; the page will say the API is down.
    return isUnauthorized(error);
  }
}
