'use client';

import { Field } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import styles from '@/components/networking/networking.module.css';
import { AUTO_NETWORK, chosenGroups } from './launch-networks';
import type { LaunchDraft } from './validate';

export interface NetworkChoice {
  id: string;
  name: string;
  shared: boolean;
  external: boolean;
  projectId: string | null;
}

export interface SecurityGroupChoice {
  id: string;
  name: string;
}

const networkKind = (n: NetworkChoice) => (n.external ? ' (external)' : n.shared ? ' (shared)' : '');

interface Props {
  id: string;
  draft: LaunchDraft;
  choices: { networks: NetworkChoice[]; securityGroups: SecurityGroupChoice[]; loading: boolean; groupsLoading: boolean };
  set: (change: Partial<LaunchDraft>) => void;
}

/**
 * Where the new servers' ports go: one network (or `auto`), with a port on further networks if asked, and the
 * project's security groups every port joins (`default` unless others are picked).
 */
export function NetworkFields({ id, draft, choices, set }: Props) {
  const groups = chosenGroups(draft, choices.securityGroups);
  const toggle = (list: string[], item: string, on: boolean) => (on ? [...list.filter((x) => x !== item), item] : list.filter((x) => x !== item));
  const further = draft.networkId === AUTO_NETWORK ? [] : choices.networks.filter((n) => n.id !== draft.networkId);
  return (
    <>
      <Field id={`${id}-networkId`} label="Network" hint={draft.networkId === AUTO_NETWORK ? "auto: your project's network if it has exactly one, else public." : undefined}>
        <select id={`${id}-networkId`} value={draft.networkId} onChange={(e) => set({ networkId: e.target.value, moreNetworkIds: draft.moreNetworkIds.filter((n) => n !== e.target.value) })}>
          <option value={AUTO_NETWORK}>auto{choices.loading ? ' (loading networks…)' : ''}</option>
          {choices.networks.map((n) => (
            <option key={n.id} value={n.id}>
              {n.name}
              {networkKind(n)}
            </option>
          ))}
        </select>
      </Field>
      {further.length ? (
        <fieldset className={styles.checks}>
          <legend>Also a port on</legend>
          {further.map((n) => (
            <label key={n.id} className={styles.check}>
              <input type="checkbox" checked={draft.moreNetworkIds.includes(n.id)} onChange={(e) => set({ moreNetworkIds: toggle(draft.moreNetworkIds, n.id, e.target.checked) })} />
              {n.name}
              {networkKind(n)}
            </label>
          ))}
        </fieldset>
      ) : null}
      <fieldset className={styles.checks} aria-describedby={`${id}-groups-hint`}>
        <legend>Security groups</legend>
        {choices.securityGroups.map((g) => (
          <label key={g.id} className={styles.check}>
            <input type="checkbox" checked={groups.includes(g.id)} onChange={(e) => set({ securityGroupIds: toggle(groups, g.id, e.target.checked) })} />
            {g.name}
          </label>
        ))}
        {choices.groupsLoading ? <span className={ui.muted}>Loading…</span> : null}
        <span id={`${id}-groups-hint`} className={ui.muted}>
          {groups.length === 0 && !choices.groupsLoading
            ? 'With no group, the ports allow no traffic at all (port security stays on).'
            : "Every port of the new servers joins these; change a port's groups on the server's page later."}
        </span>
      </fieldset>
    </>
  );
}
