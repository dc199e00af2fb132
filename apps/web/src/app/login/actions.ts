'use server';

// Signing in stays a Server Action, off the one path pages take to the API (lib/trpc.tsx, lib/trpc-server.tsx):
// it turns a password into the httpOnly session cookie, which only the web app's server may write and the
// browser's scripts must never see (nor the token in it). The form also works before its script has loaded.

import { errorCode, login } from '@aster/client';
import { redirect } from 'next/navigation';
import { z } from 'zod';
import { env } from '@/env';
import { describeApiError } from '@/lib/api-error';
import { safeNextPath } from '@/lib/next-path';
import { setSessionCookie } from '@/lib/session';
import { log } from '@/lib/log';

export type SignInState = {
  username: string;
  error?: string;
  /** Counts failed tries, so the same message twice is still announced as new. */
  attempt: number;
};

const signInForm = z.object({
  username: z.string({ error: 'Enter your username.' }).trim().min(1, 'Enter your username.'),
  password: z.string({ error: 'Enter your password.' }).min(1, 'Enter your password.'),
  next: z.string().optional(),
});

export async function signIn(previous: SignInState, form: FormData): Promise<SignInState> {
  const typed = form.get('username');
  const username = typeof typed === 'string' ? typed : '';
  const parsed = signInForm.safeParse({
    username: typed,
    password: form.get('password'),
    next: form.get('next') ?? undefined,
  });
  if (!parsed.success) {
    return { username, error: parsed.error.issues[0]?.message, attempt: previous.attempt + 1 };
  }

  let session: Awaited<ReturnType<typeof login>>;
  try {
    session = await login({
      url: env.ASTER_API_URL,
      username: parsed.data.username,
      password: parsed.data.password,
    });
  } catch (error) {
    if (errorCode(error) === undefined) log.error('login failed without an API answer', { error });
    return { username, error: describeApiError(error), attempt: previous.attempt + 1 };
  }

  await setSessionCookie(session.token, session.expiresAt);
  redirect(safeNextPath(parsed.data.next));
}
