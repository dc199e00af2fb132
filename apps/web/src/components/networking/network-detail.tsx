'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { DeleteButton, DeleteDialog } from '@/components/resources/delete-dialog';
import { useReadOnlyReason } from '@/components/resources/gate';
import { GatedButton } from '@/components/resources/gated-button';
import { Breadcrumb } from '@/components/ui/breadcrumb';
import { QueryState } from '@/components/ui/query-state';
import { ActionsCell, Table } from '@/components/ui/table';
import ui from '@/components/ui/ui.module.css';
import { AddSubnetDialog } from './add-subnet-dialog';
import { LiveError } from './live-error';
import { useNetworkLive } from './live';
import styles from './networking.module.css';
import { PortsTable } from './ports-table';
import type { Subnet } from './types';
import { useGroupNames } from './use-group-names';

/** One network: its settings, its subnets (add, delete) and its ports, kept live by networks.watch. */
export function NetworkDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const whoami = useWhoami();
  const live = useNetworkLive();
  const readOnly = useReadOnlyReason();
  const network = useQuery(trpc.networks.get.queryOptions({ id }));
  const ports = useQuery(trpc.ports.list.queryOptions({ networkId: id }));
  const groupName = useGroupNames();
  const removeSubnet = useMutation(trpc.subnets.delete.mutationOptions());
  const removeNetwork = useMutation(trpc.networks.delete.mutationOptions());
  const [adding, setAdding] = useState(false);
  const [deletingSubnet, setDeletingSubnet] = useState<(Subnet & { name: string }) | null>(null);
  const [deleting, setDeleting] = useState<{ name: string } | null>(null);

  const n = network.data;
  const blocked = readOnly ?? (n && !whoami.isAdmin && n.projectId !== whoami.project.id ? `Network ${n.name} belongs to another project` : null);
  return (
    <main className={`${ui.content} ${styles.page}`}>
      <Breadcrumb trail={[{ label: 'Networks', href: '/networks' }, { label: n?.name ?? id }]} />
      <LiveError error={live.error} />
      <QueryState what="the network" isPending={network.isPending} error={network.error} />
      {n ? (
        <>
          <div className={styles.header}>
            <h1>{n.name}</h1>
            <DeleteButton name={n.name} blocked={blocked} onClick={() => setDeleting({ name: n.name })} />
          </div>
          <dl className={ui.facts}>
            <dt>Kind</dt>
            <dd>{n.external ? 'external (floating IPs and router gateways come from it)' : n.shared ? 'shared with every project' : 'this project’s'}</dd>
            <dt>Segment</dt>
            <dd>{n.physicalNetwork ? `physical network ${n.physicalNetwork}` : 'overlay (Geneve)'}</dd>
            <dt>MTU</dt>
            <dd>{n.mtu}</dd>
            <dt>Admin state</dt>
            <dd>{n.adminStateUp ? 'up' : 'down'}</dd>
            {n.description ? (
              <>
                <dt>Description</dt>
                <dd>{n.description}</dd>
              </>
            ) : null}
            <dt>ID</dt>
            <dd className={styles.mono}>{n.id}</dd>
          </dl>
          <section className={styles.section} aria-labelledby="subnets-heading">
            <div className={styles.sectionHead}>
              <h2 id="subnets-heading">Subnets</h2>
              <GatedButton blocked={blocked} onClick={() => setAdding(true)}>
                Add subnet
              </GatedButton>
            </div>
            <Table label="Subnets" columns={['Name', 'CIDR', 'Gateway', 'Allocation', 'DHCP', 'DNS servers', 'Used / available', 'Actions']} empty={n.subnets.length === 0 ? 'No subnets: add one so servers can get addresses.' : null}>
              {n.subnets.map((s) => {
                const label = s.name || s.cidr;
                return (
                  <tr key={s.id}>
                    <td>{s.name || <span className={ui.muted}>—</span>}</td>
                    <td className={styles.mono}>{s.cidr}</td>
                    <td className={styles.mono}>{s.gateway ?? 'none'}</td>
                    <td className={styles.mono}>
                      {s.allocationStart} – {s.allocationEnd}
                    </td>
                    <td>{s.enableDhcp ? 'on' : 'off'}</td>
                    <td className={styles.mono}>{s.dnsServers.join(', ') || '—'}</td>
                    <td>
                      {s.used} / {s.available}
                    </td>
                    <ActionsCell>
                      <DeleteButton name={`subnet ${label}`} blocked={blocked} onClick={() => setDeletingSubnet({ ...s, name: label })} />
                    </ActionsCell>
                  </tr>
                );
              })}
            </Table>
          </section>
          <section className={styles.section} aria-labelledby="ports-heading">
            <h2 id="ports-heading">Ports</h2>
            <QueryState what="ports" isPending={ports.isPending} error={ports.error} />
            {ports.data ? <PortsTable ports={ports.data} groupName={groupName} /> : null}
          </section>
        </>
      ) : null}
      {adding && n ? <AddSubnetDialog networkId={n.id} networkName={n.name} onClose={() => setAdding(false)} /> : null}
      <DeleteDialog item={deletingSubnet} noun="subnet" remove={(s) => removeSubnet.mutateAsync({ id: s.id })} refresh={[trpc.networks.pathKey(), trpc.subnets.pathKey()]} onClose={() => setDeletingSubnet(null)}>
        will be deleted. A subnet with ports on it (servers, router interfaces) cannot be deleted.
      </DeleteDialog>
      <DeleteDialog
        item={deleting}
        noun="network"
        remove={async () => {
          await removeNetwork.mutateAsync({ id });
          router.push('/networks');
        }}
        refresh={[trpc.networks.pathKey()]}
        onClose={() => setDeleting(null)}
      >
        and its subnets will be deleted. A network with servers or router interfaces on it cannot be deleted.
      </DeleteDialog>
    </main>
  );
}
