import { cookies } from 'next/headers';
import { env } from '@/env';
import { SESSION_COOKIE } from './session-cookie';

// Request headers a browser call carries on to the API; the session token is added from the cookie.
const PASSED_ON = ['content-type', 'content-length', 'trpc-accept', 'last-event-id', 'x-request-id', 'range', 'accept'];
// Response headers passed back; the rest (hop-by-hop, server's own) are the web app's business.
const PASSED_BACK = ['content-type', 'content-length', 'content-range', 'accept-ranges', 'cache-control', 'x-request-id', 'etag'];

/**
 * Carries a browser's request on to the API with the session's token. The token lives in an httpOnly
 * cookie the browser's scripts cannot read, so client components reach the API through here; bodies and
 * answers are streamed (subscriptions over SSE, image uploads and downloads), never buffered.
 */
export async function forwardToApi(request: Request, apiPath: string): Promise<Response> {
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  const headers = new Headers();
  for (const name of PASSED_ON) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  if (token) headers.set('authorization', `Bearer ${token}`);
  const url = new URL(apiPath + new URL(request.url).search, env.ASTER_API_URL);
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  let upstream: Response;
  try {
    upstream = await fetch(url, {
      method: request.method,
      headers,
      body: hasBody ? request.body : null,
      signal: request.signal,
      // Node's fetch needs this to send a streamed body.
      ...(hasBody ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (error) {
    if (request.signal.aborted) return new Response(null, { status: 499 });
    const message = 'The Aster API could not be reached. Try again in a moment.';
    return Response.json({ error: { message, code: -32603, data: { code: 'INTERNAL_SERVER_ERROR', cause: String(error) } } }, { status: 502 });
  }
  const back = new Headers();
  for (const name of PASSED_BACK) {
    const value = upstream.headers.get(name);
    if (value !== null) back.set(name, value);
  }
  // Server-sent events must reach the browser as they are written.
  if (back.get('content-type')?.startsWith('text/event-stream')) back.set('x-accel-buffering', 'no');
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: back });
}
