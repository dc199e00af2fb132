'use client';

import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import styles from '@/components/admin/admin.module.css';
import { Dialog } from '@/components/admin/dialog';
import { ROLES, type Role } from '@/components/admin/types';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
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
    <form className={styles.form} onSubmit={submit}>
      <div className={styles.field}>
        <label htmlFor={ids.name}>Name</label>
        <input id={ids.name} value={name} required maxLength={64} autoComplete="off" onChange={(e) => setName(e.target.value)} />
      </div>
      <div className={styles.field}>
        <label htmlFor={ids.description}>Description</label>
        <input id={ids.description} value={description} maxLength={255} onChange={(e) => setDescription(e.target.value)} />
      </div>
      <div className={styles.field}>
        <label htmlFor={ids.role}>Role</label>
        <select id={ids.role} value={role} onChange={(e) => setRole(e.target.value as Role | '')}>
          <option value="">Your highest role on {whoami.project.name}</option>
          {grantableRoles(whoami.roles).map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </div>
      <div className={styles.field}>
        <label htmlFor={ids.expires}>Expires (optional, your local time)</label>
        <input id={ids.expires} type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />
      </div>
      {create.error ? (
        <p role="alert" className="alert">
          {describeApiError(create.error)}
        </p>
      ) : null}
      <div className="dialog-buttons">
        <button type="submit" disabled={create.isPending || !name.trim()} aria-busy={create.isPending}>
          Create
        </button>
        <button type="button" className="secondary" onClick={onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}
