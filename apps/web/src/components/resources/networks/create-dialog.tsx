'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { Dialog } from '@/components/ui/dialog';
import { ErrorAlert } from '@/components/ui/query-state';
import { Field, FormButtons } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import styles from '../resources.module.css';

const initial = { name: '', cidr: '', gateway: '', allocationStart: '', allocationEnd: '', shared: false };
type Field = Exclude<keyof typeof initial, 'shared'>;

/** Leaves out what was left empty, so the API picks its defaults (first address as gateway, the rest as the range). */
const optional = (value: string) => (value.trim() ? value.trim() : undefined);

/** "Create network": a network of this project with its one IPv4 subnet. */
export function CreateNetworkDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const whoami = useWhoami();
  const [form, setForm] = useState(initial);
  const ids = { name: useId(), cidr: useId(), gateway: useId(), start: useId(), end: useId() };
  const create = useMutation(
    trpc.networks.create.mutationOptions({
      onSuccess: (network) => {
        toast.show('success', `Network ${network.name} created`);
        void queryClient.invalidateQueries({ queryKey: trpc.networks.pathKey() });
        close();
      },
      onError: (error) => toast.show('error', `Could not create network ${form.name}: ${error.message}`),
    }),
  );

  function close() {
    setForm(initial);
    create.reset();
    onClose();
  }

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const subnet = {
      cidr: form.cidr.trim(),
      gateway: optional(form.gateway),
      allocationStart: optional(form.allocationStart),
      allocationEnd: optional(form.allocationEnd),
    };
    create.mutate({ name: form.name.trim(), shared: form.shared, subnet });
  };
  const set = (key: Field) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });

  return (
    <Dialog open={open} title="Create network" onClose={close}>
      <form className={ui.form} onSubmit={submit}>
        <Field id={ids.name} label="Name">
          <input id={ids.name} required maxLength={255} value={form.name} onChange={set('name')} />
        </Field>
        <div className={styles.row}>
          <Field id={ids.cidr} label="Subnet CIDR">
            <input id={ids.cidr} required placeholder="10.10.0.0/24" value={form.cidr} onChange={set('cidr')} />
          </Field>
          <Field id={ids.gateway} label="Gateway (optional)">
            <input id={ids.gateway} placeholder="first address" value={form.gateway} onChange={set('gateway')} />
          </Field>
        </div>
        <div className={styles.row}>
          <Field id={ids.start} label="Allocation start (optional)">
            <input id={ids.start} value={form.allocationStart} onChange={set('allocationStart')} />
          </Field>
          <Field id={ids.end} label="Allocation end (optional)">
            <input id={ids.end} value={form.allocationEnd} onChange={set('allocationEnd')} />
          </Field>
        </div>
        {whoami.isAdmin ? (
          <label className={styles.check}>
            <input type="checkbox" checked={form.shared} onChange={(e) => setForm({ ...form, shared: e.target.checked })} />
            Shared with every project
          </label>
        ) : null}
        <ErrorAlert error={create.error} />
        <FormButtons label="Create" pending={create.isPending} disabled={!form.name.trim() || !form.cidr.trim()} onCancel={close} />
      </form>
    </Dialog>
  );
}
