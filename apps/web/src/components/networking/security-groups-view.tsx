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
import type { SecurityGroup } from './types';

function CreateGroupDialog({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const toast = useToast();
  const id = useId();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const create = useMutation(
    trpc.securityGroups.create.mutationOptions({
      onSuccess: (group) => {
        toast.show('success', `Security group ${group.name} created`);
        onClose();
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ name: name.trim(), ...(description.trim() ? { description: description.trim() } : {}) });
  };
  return (
    <Dialog title="Create security group" onClose={onClose}>
      <form className={ui.form} onSubmit={submit}>
        <p className={ui.muted}>A new group allows all egress and no ingress until you add rules.</p>
        <Field id={`${id}-name`} label="Name">
          <input id={`${id}-name`} required maxLength={255} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
        </Field>
        <Field id={`${id}-desc`} label="Description (optional)">
          <input id={`${id}-desc`} maxLength={255} value={description} onChange={(e) => setDescription(e.target.value)} autoComplete="off" />
        </Field>
        <ErrorAlert error={create.error} />
        <FormButtons label="Create security group" pending={create.isPending} disabled={!name.trim()} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

/** The project's security groups (`default` among them); create, delete, and each group's page for its rules. */
export function SecurityGroupsView() {
  const trpc = useTRPC();
  const live = useNetworkLive();
  const blocked = useReadOnlyReason();
  const groups = useQuery(trpc.securityGroups.list.queryOptions());
  const remove = useMutation(trpc.securityGroups.delete.mutationOptions());
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<SecurityGroup | null>(null);
  return (
    <>
      <div className={styles.sectionHead}>
        <p className={ui.muted}>Stateful firewall rules for servers&apos; ports: replies to allowed traffic always pass.</p>
        <GatedButton blocked={blocked} onClick={() => setCreating(true)}>
          Create security group
        </GatedButton>
      </div>
      <LiveError error={live.error} />
      <QueryState what="security groups" isPending={groups.isPending} error={groups.error} />
      {groups.data ? (
        <Table label="Security groups" columns={['Name', 'Description', 'Ingress rules', 'Egress rules', 'Actions']} empty={groups.data.length === 0 ? 'No security groups yet.' : null}>
          {groups.data.map((g) => (
            <tr key={g.id}>
              <td>
                <Link href={`/security-groups/${g.id}`}>{g.name}</Link>
              </td>
              <td>{g.description}</td>
              <td>{g.rules.filter((r) => r.direction === 'ingress').length}</td>
              <td>{g.rules.filter((r) => r.direction === 'egress').length}</td>
              <ActionsCell>
                <DeleteButton name={g.name} blocked={blocked ?? (g.name === 'default' ? 'The default group cannot be deleted' : null)} onClick={() => setDeleting(g)} />
              </ActionsCell>
            </tr>
          ))}
        </Table>
      ) : null}
      {creating ? <CreateGroupDialog onClose={() => setCreating(false)} /> : null}
      <DeleteDialog item={deleting} noun="security group" remove={(g) => remove.mutateAsync({ id: g.id })} refresh={[trpc.securityGroups.pathKey()]} onClose={() => setDeleting(null)}>
        and its rules will be deleted. A group in use by a port cannot be deleted.
      </DeleteDialog>
    </>
  );
}
