'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { emptySubnet, SubnetFields, subnetSettings } from '@/components/networking/subnet-fields';
import { Dialog } from '@/components/ui/dialog';
import { ErrorAlert } from '@/components/ui/query-state';
import { Field, FormButtons } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import styles from '../resources.module.css';

/** "Create network": a network of this project with its first IPv4 subnet (more can be added on its page). */
export function CreateNetworkDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const whoami = useWhoami();
  const [name, setName] = useState('');
  const [shared, setShared] = useState(false);
  const [subnet, setSubnet] = useState(emptySubnet);
  const nameId = useId();
  const create = useMutation(
    trpc.networks.create.mutationOptions({
      onSuccess: (network) => {
        toast.show('success', `Network ${network.name} created`);
        void queryClient.invalidateQueries({ queryKey: trpc.networks.pathKey() });
        close();
      },
    }),
  );

  function close() {
    setName('');
    setShared(false);
    setSubnet(emptySubnet);
    create.reset();
    onClose();
  }

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ name: name.trim(), shared, subnet: subnetSettings(subnet) });
  };

  return (
    <Dialog open={open} title="Create network" onClose={close}>
      <form className={ui.form} onSubmit={submit}>
        <Field id={nameId} label="Name">
          <input id={nameId} required maxLength={255} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
        </Field>
        <SubnetFields draft={subnet} set={(change) => setSubnet((d) => ({ ...d, ...change }))} />
        {whoami.isAdmin ? (
          <label className={styles.check}>
            <input type="checkbox" checked={shared} onChange={(e) => setShared(e.target.checked)} />
            Shared with every project
          </label>
        ) : null}
        <ErrorAlert error={create.error} />
        <FormButtons label="Create" pending={create.isPending} disabled={!name.trim() || !subnet.cidr.trim()} onCancel={close} />
      </form>
    </Dialog>
  );
}
