'use client';

import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { Dialog } from '@/components/ui/dialog';
import { ErrorAlert } from '@/components/ui/query-state';
import { Field, FormButtons } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import type { Service } from './types';

/** Disabling asks for a reason: other operators read it on the services and hypervisors pages. */
export function DisableServiceDialog({ service, onClose, onDone }: { service: Service | null; onClose: () => void; onDone: () => unknown }) {
  const title = service ? `Disable ${service.binary} on ${service.host}` : 'Disable service';
  return (
    <Dialog open={service !== null} title={title} onClose={onClose}>
      {service ? <DisableForm service={service} onClose={onClose} onDone={onDone} /> : null}
    </Dialog>
  );
}

function DisableForm({ service, onClose, onDone }: { service: Service; onClose: () => void; onDone: () => unknown }) {
  const trpc = useTRPC();
  const toast = useToast();
  const reasonId = useId();
  const [reason, setReason] = useState('');
  const disable = useMutation(
    trpc.services.disable.mutationOptions({
      onSuccess: () => {
        toast.show('success', `Disabled ${service.binary} on ${service.host}`);
        onClose();
      },
      onSettled: onDone,
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    disable.mutate({ id: service.id, reason });
  };
  return (
    <form className={ui.form} onSubmit={submit}>
      {service.binary === 'aster-compute' ? (
        <p>The scheduler will place no new instance on {service.host}; instances already there keep running.</p>
      ) : null}
      <Field id={reasonId} label="Reason">
        <input id={reasonId} value={reason} maxLength={255} required onChange={(e) => setReason(e.target.value)} />
      </Field>
      <ErrorAlert error={disable.error} />
      <FormButtons label="Disable" pending={disable.isPending} disabled={!reason.trim()} onCancel={onClose} />
    </form>
  );
}
