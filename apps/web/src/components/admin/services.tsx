'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import styles from './admin.module.css';
import { DisableServiceDialog } from './disable-service-dialog';
import { formatDate } from './format';
import { QueryState } from './query-state';
import type { Service } from './types';

export function Services() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const { data, isPending, error } = useQuery(trpc.services.list.queryOptions());
  const [disabling, setDisabling] = useState<Service | null>(null);
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
      <QueryState label="services" isPending={isPending} error={error} />
      {data ? (
        <div className={styles.tableWrap}>
          <table className={styles.table}>
            <thead>
              <tr>
                <th scope="col">Binary</th>
                <th scope="col">Host</th>
                <th scope="col">Status</th>
                <th scope="col">State</th>
                <th scope="col">Reason</th>
                <th scope="col">Last seen</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {data.map((s) => (
                <tr key={s.id} aria-label={`${s.binary} on ${s.host}`}>
                  <td>{s.binary}</td>
                  <td>{s.host}</td>
                  <td>
                    <span className={s.status === 'up' ? styles.badgeGood : styles.badgeBad}>{s.status}</span>
                  </td>
                  <td>
                    <span className={s.state === 'enabled' ? styles.badgeGood : styles.badgeBad}>{s.state}</span>
                  </td>
                  <td>{s.disabledReason ?? <span className="muted">—</span>}</td>
                  <td>{s.stoppedAt ? `stopped ${formatDate(s.stoppedAt)}` : formatDate(s.lastSeenAt)}</td>
                  <td>
                    <div className={styles.actions}>
                      {s.state === 'enabled' ? (
                        <button type="button" className="secondary" aria-label={`Disable ${s.binary} on ${s.host}`} onClick={() => setDisabling(s)}>
                          Disable
                        </button>
                      ) : (
                        <button
                          type="button"
                          className="secondary"
                          aria-label={`Enable ${s.binary} on ${s.host}`}
                          disabled={enable.isPending && enable.variables.id === s.id}
                          onClick={() => enable.mutate({ id: s.id })}
                        >
                          Enable
                        </button>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <DisableServiceDialog service={disabling} onClose={() => setDisabling(null)} onDone={refresh} />
    </>
  );
}
