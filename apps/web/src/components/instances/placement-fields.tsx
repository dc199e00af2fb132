'use client';

import { describedBy, Field } from '@/components/ui/form';
import { policyLabel } from '@/components/server-groups/policy';
import type { LaunchDraft, Problems } from './validate';

export interface GroupChoice {
  id: string;
  name: string;
  policy: string;
}

export interface ZoneChoice {
  name: string;
  available: boolean;
}

interface Props {
  id: string;
  draft: LaunchDraft;
  problems: Problems;
  choices: { serverGroups: GroupChoice[]; zones: ZoneChoice[] };
  set: (change: Partial<LaunchDraft>) => void;
}

/**
 * Where the scheduler may put the new servers: into one of the project's server groups (its policy keeps them
 * together or apart) and into one availability zone. A zone with no working host is listed but cannot be chosen.
 */
export function PlacementFields({ id, draft, problems, choices, set }: Props) {
  const zone = choices.zones.find((z) => z.name === draft.availabilityZone);
  const zoneProblem = problems.availabilityZone ?? (zone && !zone.available ? `Zone ${zone.name} has no host that is up and enabled` : undefined);
  return (
    <>
      <Field id={`${id}-group`} label="Server group" problem={problems.serverGroupId}>
        <select
          id={`${id}-group`}
          value={draft.serverGroupId}
          onChange={(e) => set({ serverGroupId: e.target.value })}
          aria-invalid={problems.serverGroupId ? true : undefined}
          aria-describedby={describedBy(`${id}-group`, problems.serverGroupId)}
        >
          <option value="">None</option>
          {choices.serverGroups.map((g) => (
            <option key={g.id} value={g.id}>
              {g.name} ({policyLabel(g.policy)})
            </option>
          ))}
        </select>
      </Field>
      <Field id={`${id}-zone`} label="Availability zone" problem={zoneProblem}>
        <select
          id={`${id}-zone`}
          value={draft.availabilityZone}
          onChange={(e) => set({ availabilityZone: e.target.value })}
          aria-invalid={zoneProblem ? true : undefined}
          aria-describedby={describedBy(`${id}-zone`, zoneProblem)}
        >
          <option value="">Any zone</option>
          {choices.zones.map((z) => (
            <option key={z.name} value={z.name} disabled={!z.available} title={z.available ? undefined : 'No host in this zone is up and enabled'}>
              {z.name}
              {z.available ? '' : ' (unavailable)'}
            </option>
          ))}
        </select>
      </Field>
    </>
  );
}
