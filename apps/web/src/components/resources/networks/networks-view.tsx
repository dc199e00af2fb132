'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { LiveError } from '@/components/networking/live-error';
import { useNetworkLive } from '@/components/networking/live';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { QueryState } from '@/components/ui/query-state';
import { ActionsCell, Table } from '@/components/ui/table';
import ui from '@/components/ui/ui.module.css';
import { DeleteButton, DeleteDialog } from '../delete-dialog';
import { GatedButton } from '../gated-button';
import { useReadOnlyReason } from '../gate';
import styles from '../resources.module.css';
import type { Network } from '../types';
import { CreateNetworkDialog } from './create-dialog';

/** This project's networks and the shared ones, with how full each subnet is. */
export function NetworksView() {
  const trpc = useTRPC();
  const whoami = useWhoami();
  const blocked = useReadOnlyReason();
  const live = useNetworkLive();
  const networks = useQuery(trpc.networks.list.queryOptions());
  const remove = useMutation(trpc.networks.delete.mutationOptions());
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Network | null>(null);

  const deleteBlocked = (network: Network) =>
    blocked ?? (whoami.isAdmin || network.projectId === whoami.project.id ? null : `Network ${network.name} belongs to another project`);

  return (
    <>
      <div className={styles.toolbar}>
        <p className={ui.muted}>Your project&apos;s networks, the shared ones and the external ones (floating IPs and router gateways come from those).</p>
        <GatedButton blocked={blocked} onClick={() => setCreating(true)}>
          Create network
        </GatedButton>
      </div>
      <LiveError error={live.error} />
      <QueryState isPending={networks.isPending} error={networks.error} what="networks" />
      {networks.data ? (
        <Table label="Networks" className={styles.table} columns={['Name', 'Kind', 'Subnet', 'Gateway', { label: 'Addresses used / available', className: styles.num }, 'Actions']} empty={networks.data.length === 0 ? 'No networks yet.' : null}>
          {networks.data.map((network) => (
            <tr key={network.id}>
              <td data-label="Name">
                <Link href={`/networks/${network.id}`}>{network.name}</Link>
              </td>
              <td data-label="Kind">{network.external ? 'external' : network.shared ? 'shared' : 'project'}</td>
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
              <ActionsCell>
                <DeleteButton name={network.name} blocked={deleteBlocked(network)} onClick={() => setDeleting(network)} />
              </ActionsCell>
            </tr>
          ))}
        </Table>
      ) : null}
      <CreateNetworkDialog open={creating} onClose={() => setCreating(false)} />
      <DeleteDialog item={deleting} noun="network" remove={(network) => remove.mutateAsync({ id: network.id })} refresh={[trpc.networks.pathKey()]} onClose={() => setDeleting(null)}>
        and its subnets will be deleted. A network with servers on it cannot be deleted.
      </DeleteDialog>
    </>
  );
}
