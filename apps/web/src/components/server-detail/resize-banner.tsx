'use client';

import ui from '@/components/ui/ui.module.css';
import { type ActionInput, type ActionKind, type Actor, whyDisabled } from './action-kinds';
import styles from './server-detail.module.css';
import type { Server } from './types';

/** A resize waits for the user's word: both answers stay in view while the server is in VERIFY_RESIZE. */
export function ResizeBanner({ server, actor, run }: { server: Server; actor: Actor; run: (kind: ActionKind, input?: ActionInput) => Promise<boolean> }) {
  if (server.status !== 'VERIFY_RESIZE') return null;
  const confirm = whyDisabled('confirmResize', server, actor);
  const revert = whyDisabled('revertResize', server, actor);
  return (
    <section className={styles.banner} aria-label="Resize waiting">
      <p>
        {server.name} now runs as {server.flavor.name}. Check that it works, then keep the new flavor or go back to the old one.
      </p>
      <div className={styles.toolbar}>
        <button type="button" disabled={confirm !== null} title={confirm ?? undefined} onClick={() => void run('confirmResize')}>
          Confirm resize
        </button>
        <button type="button" className={ui.secondary} disabled={revert !== null} title={revert ?? undefined} onClick={() => void run('revertResize')}>
          Revert resize
        </button>
      </div>
    </section>
  );
}
