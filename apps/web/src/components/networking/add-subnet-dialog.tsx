'use client';

import { useMutation } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { Dialog } from '@/components/ui/dialog';
import { ErrorAlert } from '@/components/ui/query-state';
import { Field, FormButtons } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import { emptySubnet, SubnetFields, subnetSettings } from './subnet-fields';

/** "Add subnet" to a network; the API's refusal (an overlap, a gateway outside the CIDR) stays in the form. */
export function AddSubnetDialog({ networkId, networkName, onClose }: { networkId: string; networkName: string; onClose: () => void }) {
  const trpc = useTRPC();
  const toast = useToast();
  const nameId = useId();
  const [name, setName] = useState('');
  const [draft, setDraft] = useState(emptySubnet);
  const create = useMutation(
    trpc.subnets.create.mutationOptions({
      onSuccess: (subnet) => {
        toast.show('success', `Subnet ${subnet.cidr} added to ${networkName}`);
        onClose();
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ networkId, ...(name.trim() ? { name: name.trim() } : {}), ...subnetSettings(draft) });
  };
  return (
    <Dialog title={`Add subnet to ${networkName}`} onClose={onClose}>
      <form className={ui.form} onSubmit={submit}>
        <Field id={nameId} label="Subnet name (optional)">
          <input id={nameId} maxLength={64} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
        </Field>
        <SubnetFields draft={draft} set={(change) => setDraft((d) => ({ ...d, ...change }))} />
        <ErrorAlert error={create.error} />
        <FormButtons label="Add subnet" pending={create.isPending} disabled={!draft.cidr.trim()} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
