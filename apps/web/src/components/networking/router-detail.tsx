'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useTRPC } from '@/lib/trpc';
import { DeleteButton, DeleteDialog } from '@/components/resources/delete-dialog';
import { useReadOnlyReason } from '@/components/resources/gate';
import { Breadcrumb } from '@/components/ui/breadcrumb';
import { QueryState } from '@/components/ui/query-state';
import ui from '@/components/ui/ui.module.css';
import { LiveError } from './live-error';
import { useNetworkLive } from './live';
import styles from './networking.module.css';
import { GatewaySection, InterfacesSection, RoutesSection } from './router-parts';

/** One router: its gateway, interfaces and static routes, each changed in place and kept live. */
export function RouterDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const nav = useRouter();
  const live = useNetworkLive();
  const blocked = useReadOnlyReason();
  const router = useQuery(trpc.routers.get.queryOptions({ id }));
  const remove = useMutation(trpc.routers.delete.mutationOptions());
  const [deleting, setDeleting] = useState<{ name: string } | null>(null);
  const r = router.data;
  return (
    <main className={`${ui.content} ${styles.page}`}>
      <Breadcrumb trail={[{ label: 'Routers', href: '/routers' }, { label: r?.name ?? id }]} />
      <LiveError error={live.error} />
      <QueryState what="the router" isPending={router.isPending} error={router.error} />
      {r ? (
        <>
          <div className={styles.header}>
            <h1>{r.name}</h1>
            <DeleteButton name={r.name} blocked={blocked} onClick={() => setDeleting({ name: r.name })} />
          </div>
          <dl className={ui.facts}>
            <dt>Status</dt>
            <dd>{r.status}</dd>
            <dt>Admin state</dt>
            <dd>{r.adminStateUp ? 'up' : 'down'}</dd>
            {r.description ? (
              <>
                <dt>Description</dt>
                <dd>{r.description}</dd>
              </>
            ) : null}
            <dt>ID</dt>
            <dd className={styles.mono}>{r.id}</dd>
          </dl>
          <GatewaySection router={r} blocked={blocked} />
          <InterfacesSection router={r} blocked={blocked} />
          <RoutesSection router={r} blocked={blocked} />
        </>
      ) : null}
      <DeleteDialog
        item={deleting}
        noun="router"
        remove={async () => {
          await remove.mutateAsync({ id });
          nav.push('/routers');
        }}
        refresh={[trpc.routers.pathKey()]}
        onClose={() => setDeleting(null)}
      >
        will be deleted. A router with interfaces cannot be deleted: remove them first.
      </DeleteDialog>
    </main>
  );
}
