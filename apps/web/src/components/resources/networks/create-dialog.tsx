'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { Modal } from '../modal';
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
    <Modal open={open} title="Create network" onClose={close}>
      <form className={styles.form} onSubmit={submit}>
        <div className={styles.field}>
          <label htmlFor={ids.name}>Name</label>
          <input id={ids.name} required maxLength={255} value={form.name} onChange={set('name')} />
        </div>
        <div className={styles.row}>
          <div className={styles.field}>
            <label htmlFor={ids.cidr}>Subnet CIDR</label>
            <input id={ids.cidr} required placeholder="10.10.0.0/24" value={form.cidr} onChange={set('cidr')} />
          </div>
          <div className={styles.field}>
            <label htmlFor={ids.gateway}>Gateway (optional)</label>
            <input id={ids.gateway} placeholder="first address" value={form.gateway} onChange={set('gateway')} />
          </div>
        </div>
        <div className={styles.row}>
          <div className={styles.field}>
            <label htmlFor={ids.start}>Allocation start (optional)</label>
            <input id={ids.start} value={form.allocationStart} onChange={set('allocationStart')} />
          </div>
          <div className={styles.field}>
            <label htmlFor={ids.end}>Allocation end (optional)</label>
            <input id={ids.end} value={form.allocationEnd} onChange={set('allocationEnd')} />
          </div>
        </div>
        {whoami.isAdmin ? (
          <label className={styles.check}>
            <input type="checkbox" checked={form.shared} onChange={(e) => setForm({ ...form, shared: e.target.checked })} />
            Shared with every project
          </label>
        ) : null}
        {create.error ? (
          <p role="alert" className="alert">
            {create.error.message}
          </p>
        ) : null}
        <div className="dialog-buttons">
          <button type="submit" disabled={create.isPending || !form.name.trim() || !form.cidr.trim()} aria-busy={create.isPending}>
            Create
          </button>
          <button type="button" className="secondary" onClick={close}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
