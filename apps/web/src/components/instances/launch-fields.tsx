'use client';

import { useId, type ChangeEvent } from 'react';
import { describedBy, Field } from '@/components/ui/form';
import { flavorLabel } from './format';
import { PlacementFields, type GroupChoice, type ZoneChoice } from './placement-fields';
import { quotaProblem } from './quota';
import type { Flavor, Limits } from './types';
import type { LaunchDraft, Problems } from './validate';

export interface Choices {
  images: { id: string; name: string }[];
  flavors: Flavor[];
  networks: { id: string; name: string; shared: boolean }[];
  keypairs: { name: string }[];
  limits: Limits | undefined;
  serverGroups: GroupChoice[];
  zones: ZoneChoice[];
  loading: boolean;
}

interface Props {
  draft: LaunchDraft;
  problems: Problems;
  choices: Choices;
  set: (change: Partial<LaunchDraft>) => void;
  onFile: (file: File | undefined) => void;
}

/** The fields of Launch instance; a flavor that would exceed the remaining quota is disabled and says so. */
export function LaunchFields({ draft, problems, choices, set, onFile }: Props) {
  const id = useId();
  const count = Number(draft.count) || 1;
  const flavor = choices.flavors.find((f) => f.id === draft.flavorId);
  const overQuota = flavor ? quotaProblem(flavor, count, choices.limits) : null;
  const flavorProblem = problems.flavorId ?? overQuota;
  const text = (key: keyof LaunchDraft) => (e: ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) => set({ [key]: e.target.value });

  return (
    <>
      <Field id={`${id}-name`} label="Name" problem={problems.name}>
        <input id={`${id}-name`} value={draft.name} onChange={text('name')} aria-invalid={!!problems.name} aria-describedby={describedBy(`${id}-name`, problems.name)} autoComplete="off" />
      </Field>
      <Field id={`${id}-image`} label="Image" problem={problems.imageId}>
        <select id={`${id}-image`} value={draft.imageId} onChange={text('imageId')} aria-describedby={describedBy(`${id}-image`, problems.imageId)}>
          <option value="">Choose an image</option>
          {choices.images.map((i) => (
            <option key={i.id} value={i.id}>
              {i.name}
            </option>
          ))}
        </select>
      </Field>
      <Field id={`${id}-flavor`} label="Flavor" problem={flavorProblem}>
        <select id={`${id}-flavor`} value={draft.flavorId} onChange={text('flavorId')} aria-describedby={describedBy(`${id}-flavor`, flavorProblem)}>
          <option value="">Choose a flavor</option>
          {choices.flavors.map((f) => {
            const over = quotaProblem(f, count, choices.limits);
            return (
              <option key={f.id} value={f.id} disabled={over !== null} title={over ?? undefined}>
                {flavorLabel(f)}
                {over ? ' (exceeds your quota)' : ''}
              </option>
            );
          })}
        </select>
      </Field>
      <Field id={`${id}-network`} label="Network">
        <select id={`${id}-network`} value={draft.networkId} onChange={text('networkId')}>
          {choices.networks.length === 0 ? <option value="">{choices.loading ? 'Loading…' : 'No network'}</option> : null}
          {choices.networks.map((n) => (
            <option key={n.id} value={n.id}>
              {n.name}
              {n.shared ? ' (shared)' : ''}
            </option>
          ))}
        </select>
      </Field>
      <PlacementFields id={id} draft={draft} problems={problems} choices={choices} set={set} />
      <Field id={`${id}-key`} label="Key pair">
        <select id={`${id}-key`} value={draft.keyName} onChange={text('keyName')}>
          <option value="">None</option>
          {choices.keypairs.map((k) => (
            <option key={k.name} value={k.name}>
              {k.name}
            </option>
          ))}
        </select>
      </Field>
      <Field id={`${id}-userdata`} label="User data" problem={problems.userData} hint="A cloud-init script or any text, at most 64 KiB.">
        <textarea id={`${id}-userdata`} rows={4} value={draft.userData} onChange={text('userData')} spellCheck={false} aria-describedby={describedBy(`${id}-userdata`, problems.userData)} />
      </Field>
      <Field id={`${id}-file`} label="User data file">
        <input id={`${id}-file`} type="file" onChange={(e) => onFile(e.target.files?.[0])} />
      </Field>
      <Field id={`${id}-count`} label="Count" problem={problems.count}>
        <input id={`${id}-count`} type="number" min={1} max={10} value={draft.count} onChange={text('count')} aria-invalid={!!problems.count} aria-describedby={describedBy(`${id}-count`, problems.count)} />
      </Field>
    </>
  );
}
