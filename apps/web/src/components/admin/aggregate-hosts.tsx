'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import { Field } from '@/components/ui/form';
import { ErrorAlert } from '@/components/ui/query-state';
import ui from '@/components/ui/ui.module.css';
import resources from '@/components/resources/resources.module.css';
import styles from './admin.module.css';
import type { Aggregate } from './types';

/** The hosts of one aggregate: remove one, or add one of the registered compute hosts. */
export function AggregateHosts({ aggregate, onChanged }: { aggregate: Aggregate; onChanged: () => unknown }) {
  const trpc = useTRPC();
  const toast = useToast();
  const selectId = useId();
  const [host, setHost] = useState('');
  const hypervisors = useQuery(trpc.hypervisors.list.queryOptions());
  const add = useMutation(
    trpc.aggregates.addHost.mutationOptions({
      onSuccess: (_, input) => {
        toast.show('success', `Added ${input.host} to ${aggregate.name}`);
        setHost('');
      },
      onError: (e, input) => toast.show('error', `Could not add ${input.host} to ${aggregate.name}: ${describeApiError(e)}`),
      onSettled: onChanged,
    }),
  );
  const remove = useMutation(
    trpc.aggregates.removeHost.mutationOptions({
      onSuccess: (_, input) => toast.show('success', `Removed ${input.host} from ${aggregate.name}`),
      onError: (e, input) => toast.show('error', `Could not remove ${input.host} from ${aggregate.name}: ${describeApiError(e)}`),
      onSettled: onChanged,
    }),
  );
  const candidates = (hypervisors.data ?? []).filter((h) => !aggregate.hosts.includes(h.host));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (host) add.mutate({ id: aggregate.id, host });
  };

  return (
    <section aria-label={`Hosts of ${aggregate.name}`} className={ui.form}>
      <strong>Hosts</strong>
      {aggregate.hosts.length ? (
        <ul className={resources.chips}>
          {aggregate.hosts.map((h) => (
            <li key={h}>
              {h}
              <button
                type="button"
                className={resources.chipButton}
                aria-label={`Remove ${h} from ${aggregate.name}`}
                disabled={remove.isPending}
                onClick={() => remove.mutate({ id: aggregate.id, host: h })}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className={ui.muted}>No hosts yet.</p>
      )}
      <form className={styles.inlineForm} onSubmit={submit} aria-label={`Add a host to ${aggregate.name}`}>
        <Field id={selectId} label="Host">
          <select id={selectId} value={host} onChange={(e) => setHost(e.target.value)}>
            <option value="">{hypervisors.isPending ? 'Loading hosts…' : candidates.length ? 'Choose a host' : 'Every host is in it'}</option>
            {candidates.map((h) => (
              <option key={h.host} value={h.host}>
                {h.host}
                {h.availabilityZone ? ` (zone ${h.availabilityZone})` : ''}
              </option>
            ))}
          </select>
        </Field>
        <button type="submit" className={ui.small} disabled={!host || add.isPending} aria-busy={add.isPending}>
          Add host
        </button>
      </form>
      <ErrorAlert error={hypervisors.error ?? add.error ?? remove.error} />
    </section>
  );
}
