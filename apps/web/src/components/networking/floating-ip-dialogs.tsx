'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { Dialog } from '@/components/ui/dialog';
import { ErrorAlert } from '@/components/ui/query-state';
import { Field, FormButtons } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import { ExternalNetworkOptions, useExternalNetworks } from './routers-view';
import type { FloatingIp } from './types';

/** "Allocate floating IP": an address from an external network, kept by the project until released. */
export function AllocateDialog({ onClose, onAllocated }: { onClose: () => void; onAllocated?: (ip: FloatingIp) => void }) {
  const trpc = useTRPC();
  const toast = useToast();
  const id = useId();
  const externals = useExternalNetworks();
  const [picked, setPicked] = useState<string | null>(null);
  const [description, setDescription] = useState('');
  const network = picked ?? externals.data?.[0]?.id ?? '';
  const create = useMutation(
    trpc.floatingIps.create.mutationOptions({
      onSuccess: (ip) => {
        toast.show('success', `Floating IP ${ip.floatingIp} allocated from ${ip.floatingNetworkName}`);
        onAllocated?.(ip);
        onClose();
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ floatingNetwork: network, ...(description.trim() ? { description: description.trim() } : {}) });
  };
  return (
    <Dialog title="Allocate floating IP" onClose={onClose}>
      <form className={ui.form} onSubmit={submit}>
        <Field id={`${id}-net`} label="External network">
          <select id={`${id}-net`} value={network} onChange={(e) => setPicked(e.target.value)}>
            {externals.data?.length ? null : <option value="">{externals.isPending ? 'Loading…' : 'No external network'}</option>}
            <ExternalNetworkOptions networks={externals.data} />
          </select>
        </Field>
        <Field id={`${id}-desc`} label="Description (optional)">
          <input id={`${id}-desc`} maxLength={255} value={description} onChange={(e) => setDescription(e.target.value)} autoComplete="off" />
        </Field>
        <ErrorAlert error={externals.error} />
        <ErrorAlert error={create.error} />
        <FormButtons label="Allocate" pending={create.isPending} disabled={!network} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

/** "Associate": the floating IP goes to a server's port (on a subnet a router with a gateway reaches). */
export function AssociateDialog({ ip, onClose }: { ip: FloatingIp; onClose: () => void }) {
  const trpc = useTRPC();
  const toast = useToast();
  const id = useId();
  const ports = useQuery(trpc.ports.list.queryOptions());
  const [portId, setPortId] = useState('');
  const choices = (ports.data ?? []).filter((p) => p.server && !p.floatingIp);
  const update = useMutation(
    trpc.floatingIps.update.mutationOptions({
      onSuccess: (done) => {
        toast.show('success', `Floating IP ${done.floatingIp} associated with ${done.server?.name ?? done.fixedIp ?? 'the port'}`);
        onClose();
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    update.mutate({ id: ip.id, portId });
  };
  return (
    <Dialog title={`Associate ${ip.floatingIp}`} onClose={onClose}>
      <form className={ui.form} onSubmit={submit}>
        <Field id={`${id}-port`} label="Server port" hint="The server's network must be joined by a router whose gateway is on this floating IP's network.">
          <select id={`${id}-port`} value={portId} onChange={(e) => setPortId(e.target.value)}>
            <option value="">{ports.isPending ? 'Loading…' : choices.length ? 'Choose a server port' : 'No server port without a floating IP'}</option>
            {choices.map((p) => (
              <option key={p.id} value={p.id}>
                {p.server!.name}: {p.ip} on {p.networkName}
              </option>
            ))}
          </select>
        </Field>
        <ErrorAlert error={ports.error} />
        <ErrorAlert error={update.error} />
        <FormButtons label="Associate" pending={update.isPending} disabled={!portId} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
