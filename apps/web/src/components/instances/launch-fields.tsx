'use client';

import { useId, type ChangeEvent } from 'react';
import { describedBy, Field } from '@/components/ui/form';
import { whyTooSmall, type ImageNeeds } from './fit';
import { flavorLabel } from './format';
import { NetworkFields, type NetworkChoice, type SecurityGroupChoice } from './network-fields';
import { PlacementFields, type GroupChoice, type ZoneChoice } from './placement-fields';
import { flavorOverQuota } from './quota';
import type { Flavor, Limits } from './types';
import { countOf, MAX_COUNT, type LaunchDraft, type Problems } from './validate';

export interface Choices {
  images: (ImageNeeds & { id: string })[];
  flavors: Flavor[];
  networks: NetworkChoice[];
  securityGroups: SecurityGroupChoice[];
  keypairs: { name: string }[];
  limits: Limits | undefined;
  serverGroups: GroupChoice[];
  zones: ZoneChoice[];
  loading: boolean;
  groupsLoading: boolean;
}

interface Props {
  draft: LaunchDraft;
  problems: Problems;
  choices: Choices;
  set: (change: Partial<LaunchDraft>) => void;
  onFile: (file: File | undefined) => void;
}

/** Why a flavor cannot be picked now (too small for the image, or past the quota), or null. */
function flavorRefusal(f: Flavor, image: ImageNeeds | undefined, count: number, limits: Limits | undefined): { why: string; short: string } | null {
  const small = image ? whyTooSmall(image, f) : null;
  if (small) return { why: small, short: 'too small for this image' };
  const over = flavorOverQuota(f, count, limits);
  return over ? { why: over, short: 'exceeds your quota' } : null;
}

/**
 * The fields of Launch instance. A flavor too small for the chosen image, or past the remaining quota, is
 * disabled and says why; every field with a problem is marked invalid, so the dialog can take the user to it.
 */
export function LaunchFields({ draft, problems, choices, set, onFile }: Props) {
  const id = useId();
  const count = countOf(draft) ?? 1;
  const image = choices.images.find((i) => i.id === draft.imageId);
  const text = (key: keyof LaunchDraft) => (e: ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) => set({ [key]: e.target.value });
  const invalid = (key: keyof LaunchDraft) => ({ 'aria-invalid': problems[key] ? true : undefined, 'aria-describedby': describedBy(`${id}-${key}`, problems[key]) });

  return (
    <>
      <Field id={`${id}-name`} label="Name" problem={problems.name}>
        <input id={`${id}-name`} value={draft.name} onChange={text('name')} {...invalid('name')} autoComplete="off" />
      </Field>
      <Field id={`${id}-imageId`} label="Image" problem={problems.imageId}>
        <select id={`${id}-imageId`} value={draft.imageId} onChange={text('imageId')} {...invalid('imageId')}>
          <option value="">Choose an image</option>
          {choices.images.map((i) => (
            <option key={i.id} value={i.id}>
              {i.name}
            </option>
          ))}
        </select>
      </Field>
      <Field id={`${id}-flavorId`} label="Flavor" problem={problems.flavorId}>
        <select id={`${id}-flavorId`} value={draft.flavorId} onChange={text('flavorId')} {...invalid('flavorId')}>
          <option value="">Choose a flavor</option>
          {choices.flavors.map((f) => {
            const refused = flavorRefusal(f, image, count, choices.limits);
            return (
              <option key={f.id} value={f.id} disabled={refused !== null} title={refused?.why}>
                {flavorLabel(f)}
                {refused ? ` (${refused.short})` : ''}
              </option>
            );
          })}
        </select>
      </Field>
      <NetworkFields id={id} draft={draft} choices={choices} set={set} />
      <PlacementFields id={id} draft={draft} problems={problems} choices={choices} set={set} />
      <Field id={`${id}-keyName`} label="Key pair">
        <select id={`${id}-keyName`} value={draft.keyName} onChange={text('keyName')}>
          <option value="">None</option>
          {choices.keypairs.map((k) => (
            <option key={k.name} value={k.name}>
              {k.name}
            </option>
          ))}
        </select>
      </Field>
      <Field id={`${id}-userData`} label="User data" problem={problems.userData} hint="A cloud-init script or any text, at most 64 KiB.">
        <textarea id={`${id}-userData`} rows={4} value={draft.userData} onChange={text('userData')} spellCheck={false} {...invalid('userData')} />
      </Field>
      <Field id={`${id}-file`} label="User data file">
        <input id={`${id}-file`} type="file" onChange={(e) => onFile(e.target.files?.[0])} />
      </Field>
      <Field id={`${id}-count`} label="Count" problem={problems.count}>
        <input id={`${id}-count`} type="number" min={1} max={MAX_COUNT} value={draft.count} onChange={text('count')} {...invalid('count')} />
      </Field>
    </>
  );
}
