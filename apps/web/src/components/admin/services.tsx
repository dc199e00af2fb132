'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import { QueryState } from '@/components/ui/query-state';
import { ActionsCell, Table } from '@/components/ui/table';
import ui from '@/components/ui/ui.module.css';
import styles from './admin.module.css';
import { DisableServiceDialog } from './disable-service-dialog';
import { ForceDownDialog, type ForceDownRequest } from './force-down-dialog';
import { formatDate } from '@/lib/format';
import type { Service } from './types';

export function Services() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const { data, isPending, error } = useQuery(trpc.services.list.queryOptions());
  const [disabling, setDisabling] = useState<Service | null>(null);
  const [forcing, setForcing] = useState<ForceDownRequest | null>(null);
  // A service's state shows on the hypervisors page too.
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.services.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.hypervisors.pathKey() }),
    ]);
  const enable = useMutation(
    trpc.services.enable.mutationOptions({
      onSuccess: (_, { id }) => {
        const s = data?.find((x) => x.id === id);
        toast.show('success', `Enabled ${s ? `${s.binary} on ${s.host}` : 'the service'}`);
      },
      onError: (e) => toast.show('error', `Could not enable the service: ${describeApiError(e)}`),
      onSettled: refresh,
    }),
  );

  return (
    <>
      <QueryState what="services" isPending={isPending} error={error} />
      {data ? (
        <Table className={styles.table} columns={['Binary', 'Host', 'Status', 'State', 'Reason', 'Last seen', 'Actions']}>
          {data.map((s) => (
            <tr key={s.id} aria-label={`${s.binary} on ${s.host}`}>
              <td>{s.binary}</td>
              <td>{s.host}</td>
              <td>
                <span className={s.status === 'up' ? styles.badgeGood : styles.badgeBad}>{s.status}</span>
                {s.forcedDown ? (
                  <>
                    {' '}
                    <span className={styles.badgeBad}>forced down</span>
                  </>
                ) : null}
              </td>
              <td>
                <span className={s.state === 'enabled' ? styles.badgeGood : styles.badgeBad}>{s.state}</span>
              </td>
              <td>{s.disabledReason ?? <span className={ui.muted}>—</span>}</td>
              <td>{s.stoppedAt ? `stopped ${formatDate(s.stoppedAt)}` : formatDate(s.lastSeenAt)}</td>
              <ActionsCell>
                {s.state === 'enabled' ? (
                  <button type="button" className={ui.secondary} aria-label={`Disable ${s.binary} on ${s.host}`} onClick={() => setDisabling(s)}>
                    Disable
                  </button>
                ) : (
                  <button
                    type="button"
                    className={ui.secondary}
                    aria-label={`Enable ${s.binary} on ${s.host}`}
                    disabled={enable.isPending && enable.variables.id === s.id}
                    onClick={() => enable.mutate({ id: s.id })}
                  >
                    Enable
                  </button>
                )}
                {s.binary === 'aster-compute' ? (
                  <button
                    type="button"
                    className={ui.secondary}
                    aria-label={`${s.forcedDown ? 'Clear forced down on' : 'Force down'} ${s.host}`}
                    onClick={() => setForcing({ service: s, forcedDown: !s.forcedDown })}
                  >
                    {s.forcedDown ? 'Clear forced down' : 'Force down'}
                  </button>
                ) : null}
              </ActionsCell>
            </tr>
          ))}
        </Table>
      ) : null}
      <DisableServiceDialog service={disabling} onClose={() => setDisabling(null)} onDone={refresh} />
      <ForceDownDialog request={forcing} onClose={() => setForcing(null)} onDone={refresh} />
    </>
  );
}
