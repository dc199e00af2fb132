'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { ErrorAlert, QueryState } from '@/components/ui/query-state';
import { FormButtons } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import styles from '../resources.module.css';
import type { ProjectQuota } from '../types';

const fields = [
  { key: 'instances', label: 'Instances' },
  { key: 'cores', label: 'Cores' },
  { key: 'ramMb', label: 'RAM (MiB)' },
  { key: 'keypairs', label: 'Key pairs per user' },
] as const;
type Key = (typeof fields)[number]['key'];
type Values = Record<Key, string>;

const valuesOf = (q: ProjectQuota): Values => ({
  instances: String(q.limits.instances),
  cores: String(q.limits.cores),
  ramMb: String(q.limits.ramMb),
  keypairs: String(q.limits.keypairs),
});

/** A cloud administrator's quota editor for any project; -1 means unlimited. */
export function QuotaForm() {
  const trpc = useTRPC();
  const whoami = useWhoami();
  const [project, setProject] = useState(whoami.project.name);
  const projects = useQuery(trpc.projects.list.queryOptions());
  const quota = useQuery(trpc.quotas.get.queryOptions({ project }));
  const projectId = useId();
  return (
    <section aria-labelledby="quota-form-heading" className={ui.form}>
      <h2 id="quota-form-heading">Edit a project&apos;s quotas</h2>
      <div className={styles.check}>
        <label htmlFor={projectId}>Project</label>
        <select id={projectId} value={project} onChange={(e) => setProject(e.target.value)}>
          {(projects.data ?? [{ id: whoami.project.id, name: whoami.project.name }]).map((p) => (
            <option key={p.id} value={p.name}>
              {p.name}
            </option>
          ))}
        </select>
      </div>
      <QueryState isPending={quota.isPending} error={quota.error ?? projects.error} what="quotas" />
      {/* Keyed by project and limits, so the fields start from what is stored now. */}
      {quota.data ? <LimitsFields key={`${project}:${JSON.stringify(quota.data.limits)}`} quota={quota.data} /> : null}
    </section>
  );
}

function LimitsFields({ quota }: { quota: ProjectQuota }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [values, setValues] = useState<Values>(() => valuesOf(quota));
  const baseId = useId();
  const save = useMutation(
    trpc.quotas.set.mutationOptions({
      onSuccess: (saved) => toast.show('success', `Quotas of ${saved.project.name} saved`),
      onError: (error) => toast.show('error', `Could not save the quotas of ${quota.project.name}: ${error.message}`),
      onSettled: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.quotas.pathKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.limits.pathKey() });
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const limits = Object.fromEntries(fields.map(({ key }) => [key, Number(values[key])])) as Record<Key, number>;
    save.mutate({ project: quota.project.id, limits });
  };
  return (
    <form className={ui.form} onSubmit={submit} aria-label={`Quotas of ${quota.project.name}`}>
      <div className={styles.row}>
        {fields.map(({ key, label }) => (
          <div key={key} className={ui.field}>
            <label htmlFor={`${baseId}-${key}`}>{label}</label>
            <input
              id={`${baseId}-${key}`}
              type="number"
              required
              min={-1}
              step={1}
              value={values[key]}
              onChange={(e) => setValues({ ...values, [key]: e.target.value })}
            />
            <span className={ui.muted}>{key === 'keypairs' ? 'per user' : `${quota.usage[key]} in use`}</span>
          </div>
        ))}
      </div>
      <p className={ui.muted}>-1 means unlimited. A limit below what is in use takes nothing away; it stops new ones.</p>
      <ErrorAlert error={save.error} />
      <FormButtons label="Save quotas" pending={save.isPending} />
    </form>
  );
}
