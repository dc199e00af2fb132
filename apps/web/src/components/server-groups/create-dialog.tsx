'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import { Dialog } from '@/components/ui/dialog';
import { ErrorAlert } from '@/components/ui/query-state';
import { describedBy, Field, FormButtons } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import { POLICIES, policyLabel, policyMeaning, validateGroup, type GroupDraft, type GroupProblems, type Policy } from './policy';

const initial: GroupDraft = { name: '', policy: 'anti-affinity', maxServerPerHost: '' };

/** "Create server group": a name and a policy; anti-affinity may allow more than one member per host. */
export function CreateServerGroupDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [draft, setDraft] = useState(initial);
  const [problems, setProblems] = useState<GroupProblems>({});
  const ids = { name: useId(), policy: useId(), max: useId() };
  const create = useMutation(
    trpc.serverGroups.create.mutationOptions({
      onSuccess: (group) => {
        toast.show('success', `Server group ${group.name} created`);
        void queryClient.invalidateQueries({ queryKey: trpc.serverGroups.pathKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.limits.pathKey() });
        close();
      },
      onError: (error) => toast.show('error', `Could not create server group ${draft.name.trim()}: ${describeApiError(error)}`),
    }),
  );

  function close() {
    setDraft(initial);
    setProblems({});
    create.reset();
    onClose();
  }

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = validateGroup(draft);
    setProblems(found);
    if (Object.keys(found).length) return;
    const max = draft.policy === 'anti-affinity' && draft.maxServerPerHost.trim() ? Number(draft.maxServerPerHost) : undefined;
    create.mutate({ name: draft.name.trim(), policy: draft.policy, ...(max !== undefined ? { maxServerPerHost: max } : {}) });
  };
  const set = (change: Partial<GroupDraft>) => setDraft((d) => ({ ...d, ...change }));

  return (
    <Dialog open={open} title="Create server group" onClose={close}>
      <form className={ui.form} onSubmit={submit} noValidate>
        <Field id={ids.name} label="Name" problem={problems.name}>
          <input
            id={ids.name}
            value={draft.name}
            autoComplete="off"
            aria-invalid={!!problems.name}
            aria-describedby={describedBy(ids.name, problems.name)}
            onChange={(e) => set({ name: e.target.value })}
          />
        </Field>
        <Field id={ids.policy} label="Policy" hint={policyMeaning(draft.policy)}>
          <select id={ids.policy} value={draft.policy} onChange={(e) => set({ policy: e.target.value as Policy })}>
            {POLICIES.map((p) => (
              <option key={p} value={p}>
                {policyLabel(p)}
              </option>
            ))}
          </select>
        </Field>
        {draft.policy === 'anti-affinity' ? (
          <Field id={ids.max} label="Max servers per host" problem={problems.maxServerPerHost} hint="Empty means 1: every member on a host of its own.">
            <input
              id={ids.max}
              type="number"
              min={1}
              placeholder="1"
              value={draft.maxServerPerHost}
              aria-invalid={!!problems.maxServerPerHost}
              aria-describedby={describedBy(ids.max, problems.maxServerPerHost)}
              onChange={(e) => set({ maxServerPerHost: e.target.value })}
            />
          </Field>
        ) : null}
        <ErrorAlert error={create.error} />
        <FormButtons label="Create" pending={create.isPending} onCancel={close} />
      </form>
    </Dialog>
  );
}
