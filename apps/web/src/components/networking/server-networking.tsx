'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { useReadOnlyReason } from '@/components/resources/gate';
import { GatedButton } from '@/components/resources/gated-button';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { QueryState } from '@/components/ui/query-state';
import { ActionsCell, Table } from '@/components/ui/table';
import ui from '@/components/ui/ui.module.css';
import { serverPortsInput } from './inputs';
import { LiveError } from './live-error';
import { useNetworkLive } from './live';
import styles from './networking.module.css';
import { AssociatePortDialog, PortGroupsDialog } from './server-port-dialogs';
import { StatusPill } from './status-pill';
import type { Port } from './types';
import { useGroupNames } from './use-group-names';

/**
 * A server's ports as its page shows them: network, fixed IP, MAC, whether OVN has bound it (ACTIVE, live),
 * its security groups (editable) and its floating IP (associate, disassociate).
 */
export function ServerNetworking({ server }: { server: { id: string; name: string } }) {
  const trpc = useTRPC();
  const toast = useToast();
  const live = useNetworkLive();
  const blocked = useReadOnlyReason();
  const ports = useQuery(trpc.ports.list.queryOptions(serverPortsInput(server.id)));
  const groupName = useGroupNames();
  const disassociate = useMutation(trpc.floatingIps.update.mutationOptions());
  const [associating, setAssociating] = useState<Port | null>(null);
  const [editing, setEditing] = useState<Port | null>(null);
  const [dropping, setDropping] = useState<Port | null>(null);
  return (
    <section className={`${styles.section} ${styles.serverPorts}`} aria-labelledby="server-ports-heading">
      <h2 id="server-ports-heading">Ports and floating IPs</h2>
      <LiveError error={live.error} />
      <QueryState what="ports" isPending={ports.isPending} error={ports.error} />
      {ports.data ? (
        <Table label="Ports" columns={['Network', 'Fixed IP', 'MAC', 'Status', 'Security groups', 'Floating IP', 'Actions']} empty={ports.data.length === 0 ? 'No ports yet: they are made when the server is scheduled.' : null}>
          {ports.data.map((p) => (
            <tr key={p.id}>
              <td>
                <Link href={`/networks/${p.networkId}`}>{p.networkName}</Link>
              </td>
              <td className={styles.mono}>{p.ip}</td>
              <td className={styles.mono}>{p.macAddress}</td>
              <td>
                <StatusPill status={p.status} />
              </td>
              <td>{p.portSecurityEnabled ? p.securityGroupIds.map(groupName).join(', ') || 'none' : 'port security off'}</td>
              <td className={styles.mono}>{p.floatingIp?.ip ?? <span className={ui.muted}>none</span>}</td>
              <ActionsCell>
                {p.floatingIp ? (
                  <GatedButton blocked={blocked} className={ui.secondary} aria-label={`Disassociate ${p.floatingIp.ip}`} onClick={() => setDropping(p)}>
                    Disassociate
                  </GatedButton>
                ) : (
                  <GatedButton blocked={blocked} className={ui.secondary} aria-label={`Associate a floating IP with ${p.ip}`} onClick={() => setAssociating(p)}>
                    Associate
                  </GatedButton>
                )}
                <GatedButton
                  blocked={blocked ?? (p.portSecurityEnabled ? null : 'Port security is off on this port')}
                  className={ui.secondary}
                  aria-label={`Edit security groups of ${p.ip}`}
                  onClick={() => setEditing(p)}
                >
                  Security groups
                </GatedButton>
              </ActionsCell>
            </tr>
          ))}
        </Table>
      ) : null}
      {associating ? <AssociatePortDialog port={associating} serverName={server.name} onClose={() => setAssociating(null)} /> : null}
      {editing ? <PortGroupsDialog port={editing} onClose={() => setEditing(null)} /> : null}
      <ConfirmDialog
        open={dropping !== null}
        title={`Disassociate ${dropping?.floatingIp?.ip ?? ''}`}
        confirmLabel="Disassociate"
        onConfirm={() =>
          dropping?.floatingIp
            ? disassociate.mutateAsync({ id: dropping.floatingIp.id, portId: null }).then(() => toast.show('success', `Floating IP ${dropping.floatingIp!.ip} disassociated from ${server.name}`))
            : undefined
        }
        onClose={() => setDropping(null)}
      >
        <p>{dropping?.floatingIp?.ip} will no longer reach {server.name}; the project keeps the address.</p>
      </ConfirmDialog>
    </section>
  );
}
