'use client';

import styles from '@/components/admin/admin.module.css';
import { useToast } from '@/components/toast';
import type { Credential } from '@/components/admin/types';
import { Dialog } from '@/components/ui/dialog';
import ui from '@/components/ui/ui.module.css';

export type Created = { credential: Credential; secret: string };

/** The only place the secret ever appears: closing the dialog forgets it. */
export function SecretDialog({ created, onClose }: { created: Created | null; onClose: () => void }) {
  const toast = useToast();
  const copy = async (secret: string) => {
    try {
      await navigator.clipboard.writeText(secret);
      toast.show('success', 'Copied the secret to the clipboard');
    } catch (error) {
      toast.show('error', `Could not copy the secret: ${error instanceof Error ? error.message : String(error)}. Select it and copy it by hand.`);
    }
  };
  return (
    <Dialog open={created !== null} title={`Application credential ${created?.credential.name ?? ''} created`} onClose={onClose}>
      {created ? (
        <div className={ui.form}>
          <p>
            <strong>This secret is shown once.</strong> Copy it now: Aster keeps only its hash and cannot show it again.
          </p>
          <dl className={ui.facts}>
            <dt>Credential ID</dt>
            <dd>
              <code>{created.credential.id}</code>
            </dd>
            <dt>Secret</dt>
            <dd>
              <code className={styles.secret} aria-label="Secret">
                {created.secret}
              </code>
            </dd>
          </dl>
          <p className={ui.muted}>Sign in with both: auth.login({'{'} credentialId, secret {'}'}).</p>
          <div className={ui.buttons}>
            <button type="button" onClick={() => void copy(created.secret)}>
              Copy
            </button>
            <button type="button" className={ui.secondary} onClick={onClose}>
              Close
            </button>
          </div>
        </div>
      ) : null}
    </Dialog>
  );
}
