'use client';

import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { ROLES, type Role } from '@/components/admin/types';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { Dialog } from '@/components/ui/dialog';
import { ErrorAlert } from '@/components/ui/query-state';
import { Field, FormButtons } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import type { Created } from './secret-dialog';

/** Roles a credential may carry: the caller's highest and those it implies (admin ⊇ member ⊇ reader). */
function grantableRoles(held: readonly string[]): Role[] {
  const highest = ROLES.findIndex((r) => held.includes(r));
  return highest < 0 ? [] : ROLES.slice(highest);
}

export function CreateCredentialDialog({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: (c: Created) => void }) {
  return (
    <Dialog open={open} title="Create an application credential" onClose={onClose}>
      <CreateForm onClose={onClose} onCreated={onCreated} />
    </Dialog>
  );
}

function CreateForm({ onClose, onCreated }: { onClose: () => void; onCreated: (c: Created) => void }) {
  const trpc = useTRPC();
  const whoami = useWhoami();
  const ids = { name: useId(), description: useId(), role: useId(), expires: useId() };
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [role, setRole] = useState<Role | ''>('');
  const [expires, setExpires] = useState('');
  const create = useMutation(
    trpc.credentials.create.mutationOptions({
      onSuccess: ({ secret, ...credential }) => onCreated({ credential, secret }),
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({
      name: name.trim(),
      description,
      ...(role ? { role } : {}),
      // The picker gives local time; the API wants an instant.
      ...(expires ? { expiresAt: new Date(expires).toISOString() } : {}),
    });
  };
  return (
    <form className={ui.form} onSubmit={submit}>
      <Field id={ids.name} label="Name">
        <input id={ids.name} value={name} required maxLength={64} autoComplete="off" onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field id={ids.description} label="Description">
        <input id={ids.description} value={description} maxLength={255} onChange={(e) => setDescription(e.target.value)} />
      </Field>
      <Field id={ids.role} label="Role">
        <select id={ids.role} value={role} onChange={(e) => setRole(e.target.value as Role | '')}>
          <option value="">Your highest role on {whoami.project.name}</option>
          {grantableRoles(whoami.roles).map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </Field>
      <Field id={ids.expires} label="Expires (optional, your local time)">
        <input id={ids.expires} type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />
      </Field>
      <ErrorAlert error={create.error} />
      <FormButtons label="Create" pending={create.isPending} disabled={!name.trim()} onCancel={onClose} />
    </form>
  );
}
