import { createAsterClient } from '@aster/client';
import { cookies } from 'next/headers';
import { env } from '@/env';
import { SESSION_COOKIE } from './session-cookie';

export type AsterClient = ReturnType<typeof createAsterClient>;

/** The API as the server side of the web app calls it: with a session's token, straight to ASTER_API_URL. */
export function apiClient(token: string | undefined): AsterClient {
  return createAsterClient({ url: env.ASTER_API_URL, token });
}

export async function sessionToken(): Promise<string | undefined> {
  return (await cookies()).get(SESSION_COOKIE)?.value;
}
