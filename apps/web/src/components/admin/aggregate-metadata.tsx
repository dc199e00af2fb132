'use client';

import { useMutation } from '@tanstack/react-query';
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

/**
 * An aggregate's metadata, key by key: set a key (a new one, or a new value for one there) or remove it.
 * `availability_zone` is the zone; other keys are matched against flavors' aggregate_instance_extra_specs.
 */
export function AggregateMetadata({ aggregate, onChanged }: { aggregate: Aggregate; onChanged: () => unknown }) {
  const trpc = useTRPC();
  const toast = useToast();
  const keyId = useId();
  const valueId = useId();
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const setMetadata = useMutation(
    trpc.aggregates.setMetadata.mutationOptions({
      onSuccess: (_, input) => {
        for (const [k, v] of Object.entries(input.metadata)) {
          toast.show('success', v === null ? `Removed ${k} from ${aggregate.name}` : `Set ${k} = ${v} on ${aggregate.name}`);
        }
        setKey('');
        setValue('');
      },
      onError: (e) => toast.show('error', `Could not change the metadata of ${aggregate.name}: ${describeApiError(e)}`),
      onSettled: onChanged,
    }),
  );
  const entries = Object.entries(aggregate.metadata);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMetadata.mutate({ id: aggregate.id, metadata: { [key.trim()]: value } });
  };

  return (
    <section aria-label={`Metadata of ${aggregate.name}`} className={ui.form}>
      <strong>Metadata</strong>
      {entries.length ? (
        <ul className={resources.chips}>
          {entries.map(([k, v]) => (
            <li key={k}>
              <button type="button" className={resources.chipButton} aria-label={`Edit ${k} = ${v} of ${aggregate.name}`} onClick={() => (setKey(k), setValue(v))}>
                <span className={resources.mono}>{k}</span> = {v}
              </button>
              <button
                type="button"
                className={resources.chipButton}
                aria-label={`Remove ${k} from ${aggregate.name}`}
                disabled={setMetadata.isPending}
                onClick={() => setMetadata.mutate({ id: aggregate.id, metadata: { [k]: null } })}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className={ui.muted}>No metadata.</p>
      )}
      <form className={styles.inlineForm} onSubmit={submit} aria-label={`Set metadata of ${aggregate.name}`}>
        <Field id={keyId} label="Key">
          <input id={keyId} value={key} required maxLength={255} placeholder="ssd" autoComplete="off" onChange={(e) => setKey(e.target.value)} />
        </Field>
        <Field id={valueId} label="Value">
          <input id={valueId} value={value} required maxLength={255} placeholder="true" autoComplete="off" onChange={(e) => setValue(e.target.value)} />
        </Field>
        <button type="submit" className={ui.small} disabled={!key.trim() || !value || setMetadata.isPending} aria-busy={setMetadata.isPending}>
          Set
        </button>
      </form>
      <p className={ui.muted}>
        The key <span className={resources.mono}>availability_zone</span> is the aggregate&apos;s zone; a host may be in several aggregates only if they agree on it.
      </p>
      <ErrorAlert error={setMetadata.error} />
    </section>
  );
}
