'use client';

import type { ReactNode } from 'react';
import { useWhoami } from '@/lib/whoami';

/** An admin page: its content (and the queries in it) only for cloud administrators. */
export function AdminPage({ title, intro, children }: { title: string; intro?: string; children: ReactNode }) {
  const whoami = useWhoami();
  return (
    <main className="content">
      <h1>{title}</h1>
      {whoami.isAdmin ? (
        <>
          {intro ? <p className="muted">{intro}</p> : null}
          {children}
        </>
      ) : (
        <p role="alert" className="alert">
          This page is for cloud administrators. You are signed in as {whoami.user.name} on project {whoami.project.name},
          which does not make you one.
        </p>
      )}
    </main>
  );
}
