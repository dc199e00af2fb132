'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { DeleteDialog } from '@/components/resources/delete-dialog';
import { useReadOnlyReason } from '@/components/resources/gate';
import { GatedButton } from '@/components/resources/gated-button';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { QueryState } from '@/components/ui/query-state';
import { ActionsCell, Table } from '@/components/ui/table';
import ui from '@/components/ui/ui.module.css';
import { AllocateDialog, AssociateDialog } from './floating-ip-dialogs';
import { LiveError } from './live-error';
import { useNetworkLive } from './live';
import styles from './networking.module.css';
import { StatusPill } from './status-pill';
import type { FloatingIp } from './types';

/** The project's floating IPs: allocate from an external network, associate with a server, disassociate, release. */
export function FloatingIpsView() {
  const trpc = useTRPC();
  const toast = useToast();
  const live = useNetworkLive();
  const blocked = useReadOnlyReason();
  const ips = useQuery(trpc.floatingIps.list.queryOptions());
  const update = useMutation(trpc.floatingIps.update.mutationOptions());
  const release = useMutation(trpc.floatingIps.delete.mutationOptions());
  const [allocating, setAllocating] = useState(false);
  const [associating, setAssociating] = useState<FloatingIp | null>(null);
  const [disassociating, setDisassociating] = useState<FloatingIp | null>(null);
  const [releasing, setReleasing] = useState<(FloatingIp & { name: string }) | null>(null);
  return (
    <>
      <div className={styles.sectionHead}>
        <p className={ui.muted}>A floating IP is an external address that reaches a server through its network&apos;s router.</p>
        <GatedButton blocked={blocked} onClick={() => setAllocating(true)}>
          Allocate floating IP
        </GatedButton>
      </div>
      <LiveError error={live.error} />
      <QueryState what="floating IPs" isPending={ips.isPending} error={ips.error} />
      {ips.data ? (
        <Table label="Floating IPs" columns={['Address', 'External network', 'Server', 'Fixed IP', 'Status', 'Description', 'Actions']} empty={ips.data.length === 0 ? 'No floating IPs yet.' : null}>
          {ips.data.map((ip) => (
            <tr key={ip.id}>
              <td className={styles.mono}>{ip.floatingIp}</td>
              <td>{ip.floatingNetworkName}</td>
              <td>{ip.server ? <Link href={`/servers/${ip.server.id}`}>{ip.server.name}</Link> : <span className={ui.muted}>{ip.portId ? 'a port' : 'not associated'}</span>}</td>
              <td className={styles.mono}>{ip.fixedIp ?? '—'}</td>
              <td>
                <StatusPill status={ip.status} />
              </td>
              <td>{ip.description}</td>
              <ActionsCell>
                {ip.portId ? (
                  <GatedButton blocked={blocked} className={ui.secondary} aria-label={`Disassociate ${ip.floatingIp}`} onClick={() => setDisassociating(ip)}>
                    Disassociate
                  </GatedButton>
                ) : (
                  <GatedButton blocked={blocked} className={ui.secondary} aria-label={`Associate ${ip.floatingIp}`} onClick={() => setAssociating(ip)}>
                    Associate
                  </GatedButton>
                )}
                <GatedButton blocked={blocked} className={ui.danger} aria-label={`Release ${ip.floatingIp}`} onClick={() => setReleasing({ ...ip, name: ip.floatingIp })}>
                  Release
                </GatedButton>
              </ActionsCell>
            </tr>
          ))}
        </Table>
      ) : null}
      {allocating ? <AllocateDialog onClose={() => setAllocating(false)} /> : null}
      {associating ? <AssociateDialog ip={associating} onClose={() => setAssociating(null)} /> : null}
      <ConfirmDialog
        open={disassociating !== null}
        title={`Disassociate ${disassociating?.floatingIp ?? ''}`}
        confirmLabel="Disassociate"
        onConfirm={() =>
          disassociating
            ? update.mutateAsync({ id: disassociating.id, portId: null }).then(() => toast.show('success', `Floating IP ${disassociating.floatingIp} disassociated`))
            : undefined
        }
        onClose={() => setDisassociating(null)}
      >
        <p>
          {disassociating?.floatingIp} will no longer reach {disassociating?.server?.name ?? 'its port'}; the project keeps the address.
        </p>
      </ConfirmDialog>
      <DeleteDialog item={releasing} noun="floating IP" remove={(ip) => release.mutateAsync({ id: ip.id })} refresh={[trpc.floatingIps.pathKey()]} onClose={() => setReleasing(null)}>
        will be released: the address goes back to its external network (and stops reaching its server at once).
      </DeleteDialog>
    </>
  );
}
