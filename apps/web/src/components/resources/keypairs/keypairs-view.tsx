'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { ConfirmDialog } from '../confirm-dialog';
import { errorText, formatDate } from '../format';
import { GatedButton } from '../gated-button';
import { useReadOnlyReason } from '../gate';
import { QueryStatus } from '../query-status';
import styles from '../resources.module.css';
import type { Keypair } from '../types';
import { ImportKeypairDialog } from './import-dialog';

/** Your own SSH key pairs (they belong to you, not to the project). */
export function KeypairsView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const blocked = useReadOnlyReason();
  const keypairs = useQuery(trpc.keypairs.list.queryOptions());
  const remove = useMutation(trpc.keypairs.delete.mutationOptions());
  const [importing, setImporting] = useState(false);
  const [deleting, setDeleting] = useState<Keypair | null>(null);

  const deleteKey = async (key: Keypair) => {
    try {
      await remove.mutateAsync({ name: key.name });
      toast.show('success', `Key pair ${key.name} deleted`);
    } catch (error) {
      toast.show('error', `Could not delete key pair ${key.name}: ${errorText(error)}`);
      throw error;
    } finally {
      void queryClient.invalidateQueries({ queryKey: trpc.keypairs.pathKey() });
      void queryClient.invalidateQueries({ queryKey: trpc.limits.pathKey() });
    }
  };

  return (
    <>
      <div className={styles.toolbar}>
        <p className="muted">Servers launched with a key pair get its public key; the private key never leaves your machine.</p>
        <GatedButton blocked={blocked} onClick={() => setImporting(true)}>
          Import key pair
        </GatedButton>
      </div>
      <QueryStatus isPending={keypairs.isPending} error={keypairs.error} what="key pairs" />
      {keypairs.data ? (
        <div className={styles.tableWrap}>
          <table className={styles.table} aria-label="Key pairs">
            <thead>
              <tr>
                <th>Name</th>
                <th>Type</th>
                <th>Fingerprint</th>
                <th>Created</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {keypairs.data.length === 0 ? (
                <tr>
                  <td colSpan={5} className="muted">
                    No key pairs yet.
                  </td>
                </tr>
              ) : null}
              {keypairs.data.map((key) => (
                <tr key={key.name}>
                  <td data-label="Name">{key.name}</td>
                  <td data-label="Type">{key.type}</td>
                  <td data-label="Fingerprint" className={styles.mono}>
                    <span title="SHA-256, as ssh-keygen -l shows it">{key.fingerprint}</span>
                    <br />
                    <span className="muted" title="MD5, as older tools show it">
                      {key.fingerprintMd5}
                    </span>
                  </td>
                  <td data-label="Created">{formatDate(key.createdAt)}</td>
                  <td>
                    <div className={styles.actions}>
                      <GatedButton blocked={blocked} className={styles.danger} aria-label={`Delete ${key.name}`} onClick={() => setDeleting(key)}>
                        Delete
                      </GatedButton>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ImportKeypairDialog open={importing} onClose={() => setImporting(false)} />
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete key pair ${deleting?.name ?? ''}`}
        confirmLabel="Delete key pair"
        onConfirm={() => (deleting ? deleteKey(deleting) : Promise.resolve())}
        onClose={() => setDeleting(null)}
      >
        <p>
          Key pair <strong>{deleting?.name}</strong> will be deleted. Servers launched with it keep the key they were given.
        </p>
      </ConfirmDialog>
    </>
  );
}
