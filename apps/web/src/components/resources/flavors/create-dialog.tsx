'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { Dialog } from '@/components/ui/dialog';
import { ErrorAlert } from '@/components/ui/query-state';
import { Field, FormButtons } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import styles from '../resources.module.css';

const initial = { name: '', vcpus: '1', ramMb: '512', diskGb: '1', isPublic: true };

/** "Create flavor", for cloud administrators. */
export function CreateFlavorDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [form, setForm] = useState(initial);
  const ids = { name: useId(), vcpus: useId(), ram: useId(), disk: useId() };
  const create = useMutation(
    trpc.flavors.create.mutationOptions({
      onSuccess: (flavor) => {
        toast.show('success', `Flavor ${flavor.name} created`);
        void queryClient.invalidateQueries({ queryKey: trpc.flavors.pathKey() });
        close();
      },
      onError: (error) => toast.show('error', `Could not create flavor ${form.name}: ${error.message}`),
    }),
  );

  function close() {
    setForm(initial);
    create.reset();
    onClose();
  }

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ name: form.name.trim(), vcpus: Number(form.vcpus), ramMb: Number(form.ramMb), diskGb: Number(form.diskGb), isPublic: form.isPublic });
  };
  const set = (key: 'name' | 'vcpus' | 'ramMb' | 'diskGb') => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });

  return (
    <Dialog open={open} title="Create flavor" onClose={close}>
      <form className={ui.form} onSubmit={submit}>
        <Field id={ids.name} label="Name">
          <input id={ids.name} required maxLength={255} value={form.name} onChange={set('name')} />
        </Field>
        <div className={styles.row}>
          <Field id={ids.vcpus} label="vCPUs">
            <input id={ids.vcpus} type="number" required min={1} max={1024} step={1} value={form.vcpus} onChange={set('vcpus')} />
          </Field>
          <Field id={ids.ram} label="RAM (MiB)">
            <input id={ids.ram} type="number" required min={1} step={1} value={form.ramMb} onChange={set('ramMb')} />
          </Field>
          <Field id={ids.disk} label="Disk (GiB)">
            <input id={ids.disk} type="number" required min={0} step={1} value={form.diskGb} onChange={set('diskGb')} />
          </Field>
        </div>
        <label className={styles.check}>
          <input type="checkbox" checked={form.isPublic} onChange={(e) => setForm({ ...form, isPublic: e.target.checked })} />
          Public (every project may use it; a private one only the projects on its access list)
        </label>
        <ErrorAlert error={create.error} />
        <FormButtons label="Create" pending={create.isPending} disabled={!form.name.trim()} onCancel={close} />
      </form>
    </Dialog>
  );
}
