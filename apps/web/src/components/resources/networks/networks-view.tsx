'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { ConfirmDialog } from '../confirm-dialog';
import { errorText } from '../format';
import { GatedButton } from '../gated-button';
import { useReadOnlyReason } from '../gate';
import { QueryStatus } from '../query-status';
import styles from '../resources.module.css';
import type { Network } from '../types';
import { CreateNetworkDialog } from './create-dialog';

/** This project's networks and the shared ones, with how full each subnet is. */
export function NetworksView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const whoami = useWhoami();
  const blocked = useReadOnlyReason();
  const networks = useQuery(trpc.networks.list.queryOptions());
  const remove = useMutation(trpc.networks.delete.mutationOptions());
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Network | null>(null);

  const deleteNetwork = async (network: Network) => {
    try {
      await remove.mutateAsync({ id: network.id });
      toast.show('success', `Network ${network.name} deleted`);
    } catch (error) {
      toast.show('error', `Could not delete network ${network.name}: ${errorText(error)}`);
      throw error;
    } finally {
      void queryClient.invalidateQueries({ queryKey: trpc.networks.pathKey() });
    }
  };
  const deleteBlocked = (network: Network) =>
    blocked ?? (whoami.isAdmin || network.projectId === whoami.project.id ? null : `Network ${network.name} belongs to another project`);

  return (
    <>
      <div className={styles.toolbar}>
        <p className="muted">Each network has one IPv4 subnet; servers get an address from its allocation range.</p>
        <GatedButton blocked={blocked} onClick={() => setCreating(true)}>
          Create network
        </GatedButton>
      </div>
      <QueryStatus isPending={networks.isPending} error={networks.error} what="networks" />
      {networks.data ? (
        <div className={styles.tableWrap}>
          <table className={styles.table} aria-label="Networks">
            <thead>
              <tr>
                <th>Name</th>
                <th>Shared</th>
                <th>Subnet</th>
                <th>Gateway</th>
                <th className={styles.num}>Addresses used / available</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {networks.data.length === 0 ? (
                <tr>
                  <td colSpan={6} className="muted">
                    No networks yet.
                  </td>
                </tr>
              ) : null}
              {networks.data.map((network) => (
                <tr key={network.id}>
                  <td data-label="Name">{network.name}</td>
                  <td data-label="Shared">{network.shared ? 'yes' : 'no'}</td>
                  <td data-label="Subnet" className={styles.mono}>
                    {network.subnets.map((s) => (
                      <div key={s.id} title={`Allocation ${s.allocationStart} – ${s.allocationEnd}`}>
                        {s.cidr}
                      </div>
                    ))}
                  </td>
                  <td data-label="Gateway" className={styles.mono}>{network.subnets.map((s) => s.gateway ?? 'none').join(', ')}</td>
                  <td data-label="Used / available" className={styles.num}>
                    {network.subnets.map((s) => (
                      <div key={s.id}>
                        {s.used} / {s.available}
                      </div>
                    ))}
                  </td>
                  <td>
                    <div className={styles.actions}>
                      <GatedButton blocked={deleteBlocked(network)} className={styles.danger} aria-label={`Delete ${network.name}`} onClick={() => setDeleting(network)}>
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
      <CreateNetworkDialog open={creating} onClose={() => setCreating(false)} />
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete network ${deleting?.name ?? ''}`}
        confirmLabel="Delete network"
        onConfirm={() => (deleting ? deleteNetwork(deleting) : Promise.resolve())}
        onClose={() => setDeleting(null)}
      >
        <p>
          Network <strong>{deleting?.name}</strong> and its subnet will be deleted. A network with servers on it cannot be deleted.
        </p>
      </ConfirmDialog>
    </>
  );
}
