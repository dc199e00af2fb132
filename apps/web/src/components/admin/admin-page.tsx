'use client';

import type { ReactNode } from 'react';
import { useWhoami } from '@/lib/whoami';
import ui from '@/components/ui/ui.module.css';

/** An admin page: its content (and the queries in it) only for cloud administrators. */
export function AdminPage({ title, intro, children }: { title: string; intro?: string; children: ReactNode }) {
  const whoami = useWhoami();
  return (
    <main className={ui.content}>
      <h1>{title}</h1>
      {whoami.isAdmin ? (
        <>
          {intro ? <p className={ui.muted}>{intro}</p> : null}
          {children}
        </>
      ) : (
        <p role="alert" className={ui.alert}>
          This page is for cloud administrators. You are signed in as {whoami.user.name} on project {whoami.project.name},
          which does not make you one.
        </p>
      )}
    </main>
  );
}
