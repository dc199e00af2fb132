'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '@/lib/trpc';
import { QueryState } from '@/components/ui/query-state';
import { ActionsCell, Table } from '@/components/ui/table';
import ui from '@/components/ui/ui.module.css';
import { formatDate } from '@/lib/format';
import { DeleteButton, DeleteDialog } from '../delete-dialog';
import { GatedButton } from '../gated-button';
import { useReadOnlyReason } from '../gate';
import styles from '../resources.module.css';
import type { Keypair } from '../types';
import { ImportKeypairDialog } from './import-dialog';

/** Your own SSH key pairs (they belong to you, not to the project). */
export function KeypairsView() {
  const trpc = useTRPC();
  const blocked = useReadOnlyReason();
  const keypairs = useQuery(trpc.keypairs.list.queryOptions());
  const remove = useMutation(trpc.keypairs.delete.mutationOptions());
  const [importing, setImporting] = useState(false);
  const [deleting, setDeleting] = useState<Keypair | null>(null);


  return (
    <>
      <div className={styles.toolbar}>
        <p className={ui.muted}>Servers launched with a key pair get its public key; the private key never leaves your machine.</p>
        <GatedButton blocked={blocked} onClick={() => setImporting(true)}>
          Import key pair
        </GatedButton>
      </div>
      <QueryState isPending={keypairs.isPending} error={keypairs.error} what="key pairs" />
      {keypairs.data ? (
        <Table label="Key pairs" className={styles.table} columns={['Name', 'Type', 'Fingerprint', 'Created', 'Actions']} empty={keypairs.data.length === 0 ? 'No key pairs yet.' : null}>
          {keypairs.data.map((key) => (
            <tr key={key.name}>
              <td data-label="Name">{key.name}</td>
              <td data-label="Type">{key.type}</td>
              <td data-label="Fingerprint" className={styles.mono}>
                <span title="SHA-256, as ssh-keygen -l shows it">{key.fingerprint}</span>
                <br />
                <span className={ui.muted} title="MD5, as older tools show it">
                  {key.fingerprintMd5}
                </span>
              </td>
              <td data-label="Created">{formatDate(key.createdAt)}</td>
              <ActionsCell>
                <DeleteButton name={key.name} blocked={blocked} onClick={() => setDeleting(key)} />
              </ActionsCell>
            </tr>
          ))}
        </Table>
      ) : null}
      <ImportKeypairDialog open={importing} onClose={() => setImporting(false)} />
      <DeleteDialog item={deleting} noun="key pair" remove={(key) => remove.mutateAsync({ name: key.name })} refresh={[trpc.keypairs.pathKey(), trpc.limits.pathKey()]} onClose={() => setDeleting(null)}>
        will be deleted. Servers launched with it keep the key they were given.
      </DeleteDialog>
    </>
  );
}
