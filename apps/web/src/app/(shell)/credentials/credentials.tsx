'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import styles from '@/components/admin/admin.module.css';
import { formatDate } from '@/lib/format';
import type { Credential } from '@/components/admin/types';
import { useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { QueryState } from '@/components/ui/query-state';
import { ActionsCell, Table } from '@/components/ui/table';
import ui from '@/components/ui/ui.module.css';
import { CreateCredentialDialog } from './create-dialog';
import { type Created, SecretDialog } from './secret-dialog';
import { credentialStatus } from './status';

export function Credentials() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const { data, isPending, error, dataUpdatedAt } = useQuery(trpc.credentials.list.queryOptions());
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Created | null>(null);
  const [revoking, setRevoking] = useState<Credential | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.credentials.pathKey() });
  const revoke = useMutation(
    trpc.credentials.revoke.mutationOptions({
      onSuccess: (c) => {
        toast.show('success', `Revoked application credential ${c.name}`);
        setRevoking(null);
      },
      onError: (e) => toast.show('error', `Could not revoke ${revoking?.name ?? 'the credential'}: ${describeApiError(e)}`),
      onSettled: refresh,
    }),
  );

  return (
    <>
      <div className={styles.toolbar}>
        <button type="button" onClick={() => setCreating(true)}>
          Create application credential
        </button>
      </div>
      <QueryState what="application credentials" isPending={isPending} error={error} />
      {data ? (
        <Table label="Application credentials" className={styles.table} columns={['Name', 'Description', 'Project', 'Role', 'Status', 'Expires', 'Last used', 'Actions']} empty={data.length === 0 ? 'You have no application credentials.' : null}>
          {data.map((c) => {
            // Judged at the time of the last read: the list refreshes after each action.
            const status = credentialStatus(c, dataUpdatedAt);
            return (
              <tr key={c.id}>
                <td>{c.name}</td>
                <td>{c.description || <span className={ui.muted}>—</span>}</td>
                <td>{c.project.name}</td>
                <td>{c.role}</td>
                <td>
                  <span className={status === 'active' ? styles.badgeGood : styles.badgeBad}>{status}</span>
                </td>
                <td>{formatDate(c.expiresAt)}</td>
                <td>{formatDate(c.lastUsedAt)}</td>
                <ActionsCell>
                  <button
                    type="button"
                    className={ui.secondary}
                    aria-label={`Revoke ${c.name}`}
                    disabled={status === 'revoked'}
                    title={status === 'revoked' ? `Revoked ${formatDate(c.revokedAt)}` : undefined}
                    onClick={() => setRevoking(c)}
                  >
                    Revoke
                  </button>
                </ActionsCell>
              </tr>
            );
          })}
        </Table>
      ) : null}
      <CreateCredentialDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(c) => {
          setCreating(false);
          setCreated(c);
          void refresh();
        }}
      />
      <SecretDialog created={created} onClose={() => setCreated(null)} />
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke application credential ${revoking?.name ?? ''}`}
        confirmLabel="Revoke"
        pending={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate({ id: revoking.id })}
        onClose={() => setRevoking(null)}
      >
        <p>Scripts using it stop working at once: every token it issued is revoked too.</p>
      </ConfirmDialog>
    </>
  );
}
