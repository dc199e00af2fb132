'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useId, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { DeleteButton, DeleteDialog } from '@/components/resources/delete-dialog';
import { useReadOnlyReason } from '@/components/resources/gate';
import { GatedButton } from '@/components/resources/gated-button';
import { Dialog } from '@/components/ui/dialog';
import { ErrorAlert, QueryState } from '@/components/ui/query-state';
import { Field, FormButtons } from '@/components/ui/form';
import { ActionsCell, Table } from '@/components/ui/table';
import ui from '@/components/ui/ui.module.css';
import { LiveError } from './live-error';
import { useNetworkLive } from './live';
import styles from './networking.module.css';
import type { Router } from './types';

/** The external networks a router's gateway (or a floating IP) can come from. */
export function useExternalNetworks() {
  const trpc = useTRPC();
  const networks = useQuery(trpc.networks.list.queryOptions());
  return { ...networks, data: networks.data?.filter((n) => n.external) };
}

/** The options of a select of external networks, by id. */
export function ExternalNetworkOptions({ networks }: { networks: { id: string; name: string }[] | undefined }) {
  return networks?.map((n) => (
    <option key={n.id} value={n.id}>
      {n.name}
    </option>
  ));
}

function CreateRouterDialog({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const toast = useToast();
  const id = useId();
  const externals = useExternalNetworks();
  const [name, setName] = useState('');
  const [gateway, setGateway] = useState<string | null>(null);
  const [snat, setSnat] = useState(true);
  // The first external network (usually `public`) unless another, or none, is picked.
  const gatewayId = gateway ?? externals.data?.[0]?.id ?? '';
  const create = useMutation(
    trpc.routers.create.mutationOptions({
      onSuccess: (router) => {
        toast.show('success', `Router ${router.name} created`);
        onClose();
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ name: name.trim(), ...(gatewayId ? { externalGateway: { networkId: gatewayId, enableSnat: snat } } : {}) });
  };
  return (
    <Dialog title="Create router" onClose={onClose}>
      <form className={ui.form} onSubmit={submit}>
        <Field id={`${id}-name`} label="Name">
          <input id={`${id}-name`} required maxLength={255} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
        </Field>
        <Field id={`${id}-gw`} label="External network" hint="The router's gateway: servers behind it reach out through it (SNAT), and floating IPs come through it.">
          <select id={`${id}-gw`} value={gatewayId} onChange={(e) => setGateway(e.target.value)}>
            <option value="">None</option>
            <ExternalNetworkOptions networks={externals.data} />
          </select>
        </Field>
        <label className={styles.check}>
          <input type="checkbox" checked={snat} disabled={!gatewayId} onChange={(e) => setSnat(e.target.checked)} />
          SNAT (servers without a floating IP reach out through the gateway&apos;s address)
        </label>
        <ErrorAlert error={externals.error} />
        <ErrorAlert error={create.error} />
        <FormButtons label="Create router" pending={create.isPending} disabled={!name.trim()} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

/** The project's routers: gateway, interfaces and routes at a glance; create and delete. */
export function RoutersView() {
  const trpc = useTRPC();
  const live = useNetworkLive();
  const blocked = useReadOnlyReason();
  const routers = useQuery(trpc.routers.list.queryOptions());
  const remove = useMutation(trpc.routers.delete.mutationOptions());
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Router | null>(null);
  return (
    <>
      <div className={styles.sectionHead}>
        <p className={ui.muted}>A router joins your networks&apos; subnets to each other and, through its gateway, to an external network.</p>
        <GatedButton blocked={blocked} onClick={() => setCreating(true)}>
          Create router
        </GatedButton>
      </div>
      <LiveError error={live.error} />
      <QueryState what="routers" isPending={routers.isPending} error={routers.error} />
      {routers.data ? (
        <Table label="Routers" columns={['Name', 'External gateway', 'Interfaces', 'Static routes', 'Actions']} empty={routers.data.length === 0 ? 'No routers yet.' : null}>
          {routers.data.map((r) => (
            <tr key={r.id}>
              <td>
                <Link href={`/routers/${r.id}`}>{r.name}</Link>
              </td>
              <td>
                {r.externalGateway ? (
                  <>
                    {r.externalGateway.networkName} <span className={styles.mono}>{r.externalGateway.ip ?? ''}</span>
                    {r.externalGateway.enableSnat ? '' : ' (no SNAT)'}
                  </>
                ) : (
                  <span className={ui.muted}>none</span>
                )}
              </td>
              <td className={styles.mono}>{r.interfaces.map((f) => `${f.ip} (${f.networkName})`).join(', ') || '—'}</td>
              <td>{r.routes.length}</td>
              <ActionsCell>
                <DeleteButton name={r.name} blocked={blocked} onClick={() => setDeleting(r)} />
              </ActionsCell>
            </tr>
          ))}
        </Table>
      ) : null}
      {creating ? <CreateRouterDialog onClose={() => setCreating(false)} /> : null}
      <DeleteDialog item={deleting} noun="router" remove={(r) => remove.mutateAsync({ id: r.id })} refresh={[trpc.routers.pathKey()]} onClose={() => setDeleting(null)}>
        will be deleted. A router with interfaces, or with floating IPs reaching servers through it, cannot be deleted: remove those first.
      </DeleteDialog>
    </>
  );
}
