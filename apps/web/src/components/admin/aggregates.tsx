'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Fragment, type FormEvent, useId, useState } from 'react';
import { useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { Field } from '@/components/ui/form';
import { QueryState } from '@/components/ui/query-state';
import { ActionsCell, Table } from '@/components/ui/table';
import ui from '@/components/ui/ui.module.css';
import resources from '@/components/resources/resources.module.css';
import styles from './admin.module.css';
import { AggregateHosts } from './aggregate-hosts';
import { AggregateMetadata } from './aggregate-metadata';
import { formatDate } from '@/lib/format';
import type { Aggregate } from './types';

function CreateAggregateForm({ onCreated }: { onCreated: () => unknown }) {
  const trpc = useTRPC();
  const toast = useToast();
  const nameId = useId();
  const zoneId = useId();
  const [name, setName] = useState('');
  const [zone, setZone] = useState('');
  const create = useMutation(
    trpc.aggregates.create.mutationOptions({
      onSuccess: (a) => {
        toast.show('success', `Created aggregate ${a.name}${a.availabilityZone ? ` in zone ${a.availabilityZone}` : ''}`);
        setName('');
        setZone('');
      },
      onError: (e) => toast.show('error', `Could not create aggregate ${name.trim()}: ${describeApiError(e)}`),
      onSettled: onCreated,
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ name: name.trim(), ...(zone.trim() ? { availabilityZone: zone.trim() } : {}) });
  };
  return (
    <form className={styles.inlineForm} onSubmit={submit} aria-label="Create an aggregate">
      <Field id={nameId} label="Aggregate name">
        <input id={nameId} value={name} required maxLength={255} autoComplete="off" onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field id={zoneId} label="Availability zone (optional)">
        <input id={zoneId} value={zone} maxLength={255} placeholder="none" autoComplete="off" onChange={(e) => setZone(e.target.value)} />
      </Field>
      <button type="submit" disabled={create.isPending || !name.trim()} aria-busy={create.isPending}>
        Create aggregate
      </button>
    </form>
  );
}

function MetadataList({ metadata }: { metadata: Record<string, string> }) {
  const entries = Object.entries(metadata);
  if (!entries.length) return <span className={ui.muted}>—</span>;
  return (
    <ul className={resources.chips}>
      {entries.map(([k, v]) => (
        <li key={k}>
          <span className={resources.mono}>{k}</span>&nbsp;=&nbsp;{v}
        </li>
      ))}
    </ul>
  );
}

/**
 * Host aggregates: sets of hosts with metadata. One with an availability zone makes its hosts that zone;
 * other metadata keys are what flavors' aggregate_instance_extra_specs ask for.
 */
export function Aggregates() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const { data, isPending, error } = useQuery(trpc.aggregates.list.queryOptions());
  const [open, setOpen] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Aggregate | null>(null);
  // A host's zone and aggregates show on the hypervisors page and in the zones Launch instance offers.
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.aggregates.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.hypervisors.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.availabilityZones.pathKey() }),
    ]);
  const remove = useMutation(trpc.aggregates.delete.mutationOptions({ onSettled: refresh }));
  const runDelete = async (a: Aggregate) => {
    try {
      await remove.mutateAsync({ id: a.id });
      toast.show('success', `Deleted aggregate ${a.name}`);
      if (open === a.id) setOpen(null);
    } catch (e) {
      toast.show('error', `Could not delete aggregate ${a.name}: ${describeApiError(e)}`);
      throw e;
    }
  };

  return (
    <>
      <CreateAggregateForm onCreated={refresh} />
      <QueryState what="aggregates" isPending={isPending} error={error} />
      {data ? (
        <Table label="Aggregates" className={styles.table} columns={['Name', 'Availability zone', 'Hosts', 'Metadata', 'Updated', 'Actions']} empty={data.length === 0 ? 'No aggregates yet: every host is in the default zone.' : null}>
          {data.map((a) => (
            <Fragment key={a.id}>
              <tr aria-label={`Aggregate ${a.name}`}>
                <td>{a.name}</td>
                <td>{a.availabilityZone ?? <span className={ui.muted}>—</span>}</td>
                <td>{a.hosts.length ? a.hosts.join(', ') : <span className={ui.muted}>none</span>}</td>
                <td>
                  <MetadataList metadata={a.metadata} />
                </td>
                <td>{formatDate(a.updatedAt)}</td>
                <ActionsCell>
                  <button type="button" className={ui.secondary} aria-expanded={open === a.id} aria-label={`Manage ${a.name}`} onClick={() => setOpen(open === a.id ? null : a.id)}>
                    Manage
                  </button>
                  <button type="button" className={ui.danger} aria-label={`Delete aggregate ${a.name}`} onClick={() => setDeleting(a)}>
                    Delete
                  </button>
                </ActionsCell>
              </tr>
              {open === a.id ? (
                <tr className={ui.details}>
                  <td colSpan={6}>
                    <div className={styles.manage}>
                      <AggregateHosts aggregate={a} onChanged={refresh} />
                      <AggregateMetadata aggregate={a} onChanged={refresh} />
                    </div>
                  </td>
                </tr>
              ) : null}
            </Fragment>
          ))}
        </Table>
      ) : null}
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete aggregate ${deleting?.name ?? ''}`}
        confirmLabel="Delete aggregate"
        onConfirm={() => (deleting ? runDelete(deleting) : Promise.resolve())}
        onClose={() => setDeleting(null)}
      >
        <p>
          Its hosts stay registered and keep their instances; an aggregate that still has hosts cannot be deleted, so remove them first.
          {deleting?.availabilityZone ? ` Zone ${deleting.availabilityZone} goes with it unless another aggregate names it.` : ''}
        </p>
      </ConfirmDialog>
    </>
  );
}
